import {
  EMPTY_STATE,
  fitToBudget,
  mergeRevocations,
  policySize,
  ROLE_INLINE_POLICY_BUDGET,
  renderRevocationPolicy,
} from '../lib/revoke/policy.js';
import { sessionRevocation } from '../lib/revoke/respond.js';
import { GUARDED_ROLE_ID } from './records.js';

/** The revocation figure of contract §3, and the same count for the shortest and longest session names STS allows. */
export interface RevocationFigure {
  /**
   * Distinct session names each used once (the deny needs no lower bound), issued one every 2 s and each decided at
   * its own time (5 minutes later): names issued in the same minute share a statement.
   */
  sessionsPerRoleBudget: number;
  policyChars: number;
  /**
   * The same, each issued in a minute of its own (one statement each at first): the worst case for names used once.
   * When they no longer fit, their ends are coarsened (5 min, 15 min, 1 h) before the whole role is revoked.
   */
  spreadSessionsPerRoleBudget: number;
  /** The same, when every name is shared with the vendor's other sessions: one window statement per session. */
  sharedNameSessionsPerRoleBudget: number;
  assumedRoleIdChars: number;
  budgetChars: number;
  bySessionNameLength: Record<string, number>;
}

const START = new Date('2026-10-01T12:00:00Z');
/** CloudTrail's delivery delay: each revocation is decided this long after its session was issued. */
const DELIVERY_MS = 5 * 60_000;

/**
 * How many distinct sessions fit one role's inline budget with no other inline policy, each issued `spacingS`
 * seconds after the one before and revoked at its own decision time.
 */
function capacity(
  name: (i: number) => string,
  options: { nameShared?: boolean; spacingS?: number } = {},
): { sessions: number; chars: number } {
  let state = EMPTY_STATE;
  let chars = 0;
  for (let n = 0; n < 5000; n++) {
    const issued = new Date(START.getTime() + n * (options.spacingS ?? 2) * 1000);
    const addition = sessionRevocation({
      assumedRoleId: `${GUARDED_ROLE_ID}:${name(n)}`,
      issuedAt: issued.toISOString(),
      expiresAt: new Date(issued.getTime() + 12 * 3600_000).toISOString(),
      durationSeconds: 12 * 3600,
      nameShared: options.nameShared ?? false,
      now: new Date(issued.getTime() + DELIVERY_MS),
    });
    // As the live service does: the fitted state (used-once ends coarsened if need be) is what is written and kept.
    const fitted = fitToBudget(mergeRevocations(state, addition), 0, ROLE_INLINE_POLICY_BUDGET);
    if (fitted.fellBack) return { sessions: n, chars };
    state = fitted.state;
    chars = policySize(renderRevocationPolicy(state));
  }
  throw new Error('no budget limit reached');
}

/**
 * Sessions named as the vendor of the replay corpus names them (`ExampleCorp-<epoch seconds>`, 22 characters, so
 * `AROA…:ExampleCorp-1727740800` is 44), on the role id of ExampleCorpAudit (21 characters, as IAM writes them).
 */
export function measureRevocationCapacity(): RevocationFigure {
  const typical = capacity((i) => `ExampleCorp-${1727740800 + i}`);
  const shortest = capacity((i) => i.toString(36).padStart(2, '0'));
  const longest = capacity((i) =>
    `ExampleCorp-tenant-scan-${String(i).padStart(6, '0')}-${'x'.repeat(33)}`.slice(0, 64),
  );
  return {
    sessionsPerRoleBudget: typical.sessions,
    policyChars: typical.chars,
    spreadSessionsPerRoleBudget: capacity((i) => `ExampleCorp-${1727740800 + i}`, { spacingS: 60 }).sessions,
    sharedNameSessionsPerRoleBudget: capacity((i) => `ExampleCorp-${1727740800 + i}`, { nameShared: true }).sessions,
    assumedRoleIdChars: `${GUARDED_ROLE_ID}:ExampleCorp-1727740800`.length,
    budgetChars: ROLE_INLINE_POLICY_BUDGET,
    bySessionNameLength: { '2': shortest.sessions, '22': typical.sessions, '64': longest.sessions },
  };
}
