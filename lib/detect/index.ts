export { detectAssume, detectTrustChange } from './detect.js';
export { revocationTampered, roleIdChanged, roleRecreated } from './role-change.js';
export {
  ASSUME_RULES,
  deniedAssume,
  missingExternalId,
  retiredExternalId,
  trustPolicyChanged,
  unexpectedExternalId,
  untrustedAccount,
} from './rules.js';
export type { Finding, FindingContext, FindingKind, Severity } from './types.js';
