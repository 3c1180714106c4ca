export type { Finding, FindingKind, FindingContext, Severity } from './types.js';
export { detectAssume, detectTrustChange } from './detect.js';
export { ASSUME_RULES, unexpectedExternalId, retiredExternalId, missingExternalId, untrustedAccount, deniedAssume, trustPolicyChanged } from './rules.js';
