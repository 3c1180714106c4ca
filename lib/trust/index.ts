export { decodePolicyDocument, parseTrustPolicy, principalAccount, externalIdRequirement, actionMatches, TrustPolicyError, type TrustStatement, type ExternalIdRequirement } from './policy.js';
export { analyzeTrustPolicy, type TrustAnalysis, type PostureProblem, type PostureProblemKind } from './analyze.js';
export { auditRegistry, iamTrustPolicyReader, type AuditReport, type RoleAudit, type TrustPolicyReader } from './audit.js';
export { formatSlackAudit, formatSnsAudit, auditDigest, notifyAudit } from './notify.js';
