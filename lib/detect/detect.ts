import type { AssumeEvent, TrustPolicyChangeEvent } from '../cloudtrail/types.js';
import type { RegistryIndex } from '../registry/index.js';
import { ASSUME_RULES, trustPolicyChanged } from './rules.js';
import type { Finding } from './types.js';

/** Run every rule on an assume event. An unregistered role raises nothing. */
export function detectAssume(event: AssumeEvent, index: RegistryIndex): Finding[] {
  const role = index.roleFor(event.roleArn);
  return role ? ASSUME_RULES.flatMap((rule) => rule(event, role)) : [];
}

/** Check a trust-policy change; matched by account and role name, since IAM logs no path. */
export function detectTrustChange(event: TrustPolicyChangeEvent, index: RegistryIndex): Finding[] {
  const role = index.roleByName(event.recipientAccountId, event.roleName);
  return role ? trustPolicyChanged(event, role, index) : [];
}
