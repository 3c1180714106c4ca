/**
 * The finding kinds: contract §2's closed set. `assumed-after-revocation`: a caller whose session roleguard revoked
 * assumes the role again; `revocation-tampered`: someone else put or deleted roleguard's revocation policy;
 * `role-recreated`: a registered role was deleted or created again.
 */
export type FindingKind =
  | 'assumed-after-revocation'
  | 'revocation-tampered'
  | 'role-recreated'
  | 'unexpected-external-id'
  | 'retired-external-id'
  | 'missing-external-id'
  | 'untrusted-account'
  | 'denied-assume'
  | 'trust-policy-changed'
  // Issue 15 coverage (lib/org/coverage.ts): an account × Region whose events do not reach the hub.
  | 'coverage-gap';

export type Severity = 'critical' | 'high' | 'medium' | 'low';

/** A finding is data: what was seen, how bad it is, and enough context to act on it. */
export interface Finding {
  kind: FindingKind;
  severity: Severity;
  roleArn: string;
  eventId: string;
  assumedRoleId: string | null;
  callerAccountId: string | null;
  /** One human-readable line; never holds a full external ID. */
  message: string;
  /** Context for alerts and the runbook (an extension of the contract). */
  context: FindingContext;
}

/** What an alert shows besides the finding itself. */
export interface FindingContext {
  recipientAccountId: string;
  vendor: string;
  at: string;
  callerArn: string | null;
  callerType: string;
  sourceIpAddress: string | null;
  roleSessionName: string | null;
  /** Masked: a short prefix and a hash. */
  externalId: string | null;
  userAgent: string | null;
}
