import type { Finding } from '../detect/types.js';

/** The next step for a human, per finding kind (the runbook in one line). */
export function nextStepFor(finding: Finding): string {
  switch (finding.kind) {
    case 'unexpected-external-id':
    case 'retired-external-id':
      return 'Revoking a session does not stop a new assume. Contain it: fix the trust policy so it requires only the registered external ID (StringEquals on sts:ExternalId), rotate the ID with the vendor, then review what this session did in CloudTrail.';
    case 'missing-external-id':
      return 'Add a StringEquals sts:ExternalId condition to every cross-account statement of the trust policy, then review what this session did in CloudTrail.';
    case 'untrusted-account':
      return 'Remove the account from the trust policy (or add it to trustedAccounts if it is legitimate), then review what this session did in CloudTrail.';
    case 'assumed-after-revocation':
      return 'The caller came back after its session was revoked. If the external ID it used is known to others, rotate it now (roleguard rotate) or remove the statement from the trust policy; revoke this session too if it is not the vendor.';
    case 'denied-assume':
      return 'Check who made the attempt and why; repeated denials from one principal suggest probing.';
    case 'trust-policy-changed':
      return 'Compare the new trust policy with the registry (roleguard audit). Revert it if the change was not approved.';
    case 'revocation-tampered':
      return "Find out who changed roleguard's revocation policy and why (CloudTrail, the caller above); roleguard puts it back from the revocations it keeps. Check the policy on the role now, and take IAM write access on guarded roles away from whoever should not have it.";
    case 'coverage-gap':
      return "roleguard is blind in this account and Region: assumes there are not recorded or checked. Check the spoke stacks there (roleguard org status; the StackSet's instance, the forwarding rule), SCPs that deny the spoke or forwarder roles, and that the Region is enabled; see the coverage-gap entry of docs/runbook.md.";
    case 'role-recreated':
      return "Check who deleted or created the role and why. A re-created role has a new RoleId and trust policy: roleguard's earlier revocations no longer match it. Audit the new trust policy (roleguard audit), revoke again what must stay revoked (roleguard revoke), and rotate the external ID if it may be known.";
  }
}
