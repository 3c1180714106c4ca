/**
 * roleguard's own principals in the member accounts, as OWN_ROLE_ARNS patterns (`*`: any run without `/`): the spoke
 * role, and its sessions (always `roleguard-<purpose>`: the spoke's trust requires it). Their IAM writes in a member
 * account come back to the hub as events and are roleguard's own; the spoke role itself is never revoked. Since the
 * session pattern is listed, the role pattern alone does not make a caller own (lib/registry/match.ts): only a
 * `roleguard-*` session of the role at its root path is. The hub's
 * roles (`roleguard-<stage>-hub-*`) are in the hub account and already match the stack's own pattern.
 */
export function spokeOwnPatterns(spokeRoleName: string): string[] {
  return [`arn:aws*:iam::*:role/${spokeRoleName}`, `arn:aws*:sts::*:assumed-role/${spokeRoleName}/roleguard-*`];
}
