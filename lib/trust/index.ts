export { analyzeTrustPolicy, type PostureProblem, type PostureProblemKind, type TrustAnalysis } from './analyze.js';
export {
  type AuditReport,
  auditRegistry,
  iamTrustPolicyReader,
  type RoleAudit,
  type TrustPolicyReader,
  withUnregisteredRoles,
} from './audit.js';
export { auditDigest, formatSlackAudit, formatSnsAudit, notifyAudit } from './notify.js';
export {
  actionMatches,
  decodePolicyDocument,
  type ExternalIdRequirement,
  externalIdRequirement,
  parseTrustPolicy,
  principalAccount,
  TrustPolicyError,
  type TrustStatement,
} from './policy.js';
