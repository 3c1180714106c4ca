import { describe, expect, it } from '@jest/globals';
import {
  EMPTY_STATE,
  fitToBudget,
  mergeRevocations,
  parseRevocationPolicy,
  policySize,
  type RevocationState,
  ROLE_INLINE_POLICY_BUDGET,
  renderRevocationPolicy,
} from '../../../lib/revoke/policy.js';
import {
  emulatedRevoker,
  NAME_CHECK_LIMIT,
  sessionNameShared,
  sessionRevocation,
} from '../../../lib/revoke/respond.js';
import { coarsenUsedOnce, ISSUE_MARGIN_SECONDS, issueWindow } from '../../../lib/revoke/window.js';
import { ROLE_ID, sessionDecision } from '../../helpers/revocation.js';

// The vendor reuses one session name; the offending session came through the vendor, so it carries that name.
const NAME = 'ExampleCorpScanner';
const OFFENDING = '2026-11-02T10:05:00Z';
const NOW = new Date('2026-11-02T10:12:00Z'); // CloudTrail delivered it minutes later.

const revocation = (issuedAt: string, nameShared?: boolean, name = NAME, now = NOW): RevocationState =>
  sessionRevocation({
    assumedRoleId: `${ROLE_ID}:${name}`,
    issuedAt,
    expiresAt: new Date(Date.parse(issuedAt) + 3600_000).toISOString(),
    durationSeconds: 3600,
    now,
    ...(nameShared === undefined ? {} : { nameShared }),
  });

const plusSeconds = (iso: string, s: number) => new Date(Date.parse(iso) + s * 1000).toISOString();

describe('a revocation denies the offending session and nothing else (judged by an IAM evaluator)', () => {
  it('spares a same-name session issued 20 minutes earlier and one issued later, denies the offending one to the millisecond', async () => {
    const policy = renderRevocationPolicy(revocation(OFFENDING, true));
    // The vendor's own session of that name, 20 minutes before: still allowed.
    expect(await sessionDecision(policy, NAME, '2026-11-02T09:45:00Z')).toBe('Allowed');
    // The offending session, its token issue time with milliseconds on either side of the event's second.
    expect(await sessionDecision(policy, NAME, '2026-11-02T10:05:00.734Z')).toBe('Denied');
    expect(await sessionDecision(policy, NAME, '2026-11-02T10:04:59.412Z')).toBe('Denied');
    // Within the margin of the offending one: denied (the issue time is only known to a second or so).
    expect(await sessionDecision(policy, NAME, plusSeconds(OFFENDING, -(ISSUE_MARGIN_SECONDS - 1)))).toBe('Denied');
    expect(await sessionDecision(policy, NAME, plusSeconds(OFFENDING, ISSUE_MARGIN_SECONDS - 1))).toBe('Denied');
    // The vendor's sessions of that name issued during CloudTrail's delivery delay, and after the decision: allowed.
    expect(await sessionDecision(policy, NAME, '2026-11-02T10:06:00Z')).toBe('Allowed');
    expect(await sessionDecision(policy, NAME, '2026-11-02T10:13:00Z')).toBe('Allowed');
    // Other sessions of the role: allowed.
    expect(await sessionDecision(policy, 'someone-else', OFFENDING)).toBe('Allowed');
  });

  it('bounds the deny the same way when it cannot tell whether the name is shared', async () => {
    const policy = renderRevocationPolicy(revocation(OFFENDING));
    expect(await sessionDecision(policy, NAME, '2026-11-02T09:45:00Z')).toBe('Allowed');
    expect(await sessionDecision(policy, NAME, '2026-11-02T10:05:00.999Z')).toBe('Denied');
  });

  it('a name used once needs no lower bound: denied up to its issue time + margin, rounded up to the minute', async () => {
    const policy = renderRevocationPolicy(revocation(OFFENDING, false, 'tenant-4711-once'));
    expect(await sessionDecision(policy, 'tenant-4711-once', '2026-11-02T09:45:00Z')).toBe('Denied');
    expect(await sessionDecision(policy, 'tenant-4711-once', '2026-11-02T10:05:00.500Z')).toBe('Denied');
    expect(await sessionDecision(policy, 'tenant-4711-once', '2026-11-02T10:05:59Z')).toBe('Denied');
    // After the bucket (10:06:00), a later session of that name is not the offending one: allowed, even one issued
    // before the decision (10:12), during CloudTrail's delivery delay.
    expect(await sessionDecision(policy, 'tenant-4711-once', '2026-11-02T10:06:00Z')).toBe('Allowed');
    expect(await sessionDecision(policy, 'tenant-4711-once', '2026-11-02T10:08:00Z')).toBe('Allowed');
    expect(await sessionDecision(policy, 'tenant-4711-once', '2026-11-02T10:12:01Z')).toBe('Allowed');
    expect(JSON.stringify(policy)).not.toContain('DateGreaterThanEquals');
  });

  it('a same-name session issued 2 minutes after the offending one, delivered after the check, stays allowed', async () => {
    // The name check ran at 10:12 and saw no other session of the name: the vendor's 10:07 session of that name was
    // not recorded yet (CloudTrail delivers out of order; the byRole index is eventually consistent).
    const policy = renderRevocationPolicy(revocation(OFFENDING, false, 'ExampleCorp-1793613900'));
    expect(await sessionDecision(policy, 'ExampleCorp-1793613900', OFFENDING)).toBe('Denied');
    expect(await sessionDecision(policy, 'ExampleCorp-1793613900', '2026-11-02T10:07:00.250Z')).toBe('Allowed');
  });

  it('takes expiration − durationSeconds as evidence only when it agrees with the event time', () => {
    expect(issueWindow({ issuedAt: '2026-11-02T10:05:00Z' })).toEqual({
      from: '2026-11-02T10:04:55Z',
      until: '2026-11-02T10:05:05Z',
    });
    // Agrees within a few seconds: the window covers both.
    expect(
      issueWindow({ issuedAt: '2026-11-02T10:05:00Z', expiresAt: '2026-11-02T11:05:02Z', durationSeconds: 3600 }),
    ).toEqual({ from: '2026-11-02T10:04:55Z', until: '2026-11-02T10:05:07Z' });
    // Disagrees by 45 minutes (as a published sample does): not evidence of the issue time.
    expect(
      issueWindow({ issuedAt: '2021-01-22T03:44:16Z', expiresAt: '2021-01-22T03:59:16Z', durationSeconds: 3600 }),
    ).toEqual({ from: '2021-01-22T03:44:11Z', until: '2021-01-22T03:44:21Z' });
    expect(issueWindow({ issuedAt: 'not a time' })).toBeNull();
  });

  it('merges overlapping windows of one name, so a burst of attacks through it stays one statement', async () => {
    const burst = mergeRevocations(
      EMPTY_STATE,
      ...[0, 3, 7, 12].map((s) => revocation(plusSeconds(OFFENDING, s), true)),
      revocation('2026-11-02T10:30:00Z', true),
    );
    const policy = renderRevocationPolicy(burst)!;
    expect(policy.Statement).toHaveLength(2);
    for (const s of [0, 3, 7, 12])
      expect(await sessionDecision(policy, NAME, plusSeconds(OFFENDING, s))).toBe('Denied');
    expect(await sessionDecision(policy, NAME, '2026-11-02T10:30:00Z')).toBe('Denied');
    // Between the two windows, the vendor's own session of that name stays allowed.
    expect(await sessionDecision(policy, NAME, '2026-11-02T10:20:00Z')).toBe('Allowed');
    // Written and read back, the windows are the same.
    expect(renderRevocationPolicy(parseRevocationPolicy(JSON.stringify(policy)).state)).toEqual(policy);
    // A later open revocation of the name covers the windows before it.
    const open = mergeRevocations(burst, revocation('2026-11-02T10:40:00Z', false));
    expect(renderRevocationPolicy(open)!.Statement).toHaveLength(1);
  });

  it('keeps room for 150 distinct names on one role, and falls back to the whole role past the budget', async () => {
    const names = Array.from({ length: 150 }, (_, i) => `ExampleCorp-${1793613600 + i}`);
    // 150 names issued over 5 minutes, each decided at its own time (its delivery 3 minutes and some seconds later).
    const issued = (i: number) => plusSeconds(OFFENDING, -i * 2);
    const many = mergeRevocations(
      EMPTY_STATE,
      ...names.map((name, i) =>
        revocation(issued(i), false, name, new Date(Date.parse(issued(i)) + 180_000 + i * 1000)),
      ),
    );
    const fitted = fitToBudget(many, 0);
    expect(fitted.fellBack).toBe(false);
    expect(policySize(renderRevocationPolicy(fitted.state))).toBeLessThanOrEqual(ROLE_INLINE_POLICY_BUDGET);
    const policy = renderRevocationPolicy(fitted.state);
    expect(policy!.Statement.length).toBeLessThanOrEqual(6);
    for (const i of [0, 42, 149]) expect(await sessionDecision(policy, names[i]!, issued(i))).toBe('Denied');
    // Each name's next session, issued 2 minutes after its revoked one (before its decision): allowed.
    for (const i of [0, 42, 149])
      expect(await sessionDecision(policy, names[i]!, plusSeconds(issued(i), 120))).toBe('Allowed');
    // Shared names cost a statement each; past the budget, the whole role as of the latest window's end.
    const shared = mergeRevocations(
      EMPTY_STATE,
      ...names.map((name, i) => revocation(plusSeconds(OFFENDING, -i * 7), true, name)),
    );
    const crowded = fitToBudget(shared, 0);
    expect(crowded.fellBack).toBe(true);
    // The whole-role fallback denies everything issued before the decision time, as the console's revocation does.
    expect(await sessionDecision(renderRevocationPolicy(crowded.state), 'anyone', '2026-11-02T10:11:59Z')).toBe(
      'Denied',
    );
    expect(await sessionDecision(renderRevocationPolicy(crowded.state), 'anyone', '2026-11-02T10:12:01Z')).toBe(
      'Allowed',
    );
    expect(await sessionDecision(renderRevocationPolicy(crowded.state), names[0]!, '2026-11-02T10:05:04Z')).toBe(
      'Denied',
    );
  });

  it('tells whether the name is shared from one bounded query, and says shared when it cannot tell', async () => {
    const offending = { roleArn: 'arn:aws:iam::111122223333:role/R', assumedRoleId: `${ROLE_ID}:${NAME}` };
    const session = { ...offending, issuedAt: OFFENDING, eventId: 'bad-1', accessKeyId: 'ASIAOFFENDING0000001' };
    const limits: number[] = [];
    const store = (sessions: object[], complete: boolean) => ({
      withAssumedRoleId: async (_r: string, _id: string, _range: object, limit: number) => {
        limits.push(limit);
        return { sessions: sessions as never[], complete };
      },
    });
    const view = (eventId: string, accessKeyId: string) => ({ eventId, accessKeyId, outcome: 'success' });
    expect(await sessionNameShared(store([view('bad-1', 'ASIAOFFENDING0000001')], true), session, NOW)).toBe(false);
    // The other account's copy of the same assume: the same access key, the same session.
    expect(await sessionNameShared(store([view('copy-1', 'ASIAOFFENDING0000001')], true), session, NOW)).toBe(false);
    expect(await sessionNameShared(store([view('good-1', 'ASIAVENDOR0000000001')], true), session, NOW)).toBe(true);
    // A role busier than the limit: the query could not look at everything, so it cannot tell.
    expect(await sessionNameShared(store([], false), session, NOW)).toBe(true);
    expect(limits.every((l) => l === NAME_CHECK_LIMIT)).toBe(true);
    // The query fails (say, not permitted): the revocation still goes ahead, bounded as for a shared name.
    const warnings: string[] = [];
    const failing = { withAssumedRoleId: async () => Promise.reject(new Error('AccessDenied')) };
    expect(await sessionNameShared(failing, session, NOW, { warn: (m) => void warnings.push(m) })).toBe(true);
    expect(warnings).toHaveLength(1);
  });
});

describe('when the used-once denies do not fit, their ends are coarsened before the whole role is revoked', () => {
  // 160 names used once, each issued in a minute of its own (at :30) and decided 3 minutes later: one statement each
  // at the minute's granularity, far past the inline budget.
  const START = '2026-11-02T08:00:30Z';
  const names = Array.from({ length: 160 }, (_, i) => `ExampleCorp-${1793606400 + i * 60}`);
  const issued = (i: number) => plusSeconds(START, i * 60);
  const additions = names.map((name, i) =>
    revocation(issued(i), false, name, new Date(Date.parse(issued(i)) + 180_000)),
  );
  const end = (state: RevocationState, name: string) =>
    state.sessions.find((s) => s.assumedRoleId === `${ROLE_ID}:${name}` && !s.issuedWindow)!.decidedAt;

  it('fits 160 names issued in minutes of their own, each offending session denied, the vendor’s later one allowed', async () => {
    // Without coarsening, one statement a minute does not fit: this is what fell back to the whole role.
    expect(policySize(renderRevocationPolicy(mergeRevocations(EMPTY_STATE, ...additions)))).toBeGreaterThan(
      ROLE_INLINE_POLICY_BUDGET,
    );
    // As the live service does: each decision merged into what the policy holds, fitted, written, kept.
    let state = EMPTY_STATE;
    let coarsened: number | undefined;
    for (const addition of additions) {
      const before = state;
      const fitted = fitToBudget(mergeRevocations(state, addition), 0);
      expect(fitted.fellBack).toBe(false);
      // Monotonic: no end already in the policy ever moves earlier.
      for (const s of before.sessions)
        expect(Date.parse(end(fitted.state, s.assumedRoleId.split(':')[1]!))).toBeGreaterThanOrEqual(
          Date.parse(s.decidedAt),
        );
      state = fitted.state;
      coarsened = fitted.coarsenedSeconds ?? coarsened;
    }
    expect(coarsened).toBeDefined();
    const policy = renderRevocationPolicy(state)!;
    expect(policySize(policy)).toBeLessThanOrEqual(ROLE_INLINE_POLICY_BUDGET);
    expect(state.role).toBeNull();
    expect(JSON.stringify(policy)).not.toContain('RoleguardRoleUntil');
    for (const [i, name] of names.entries()) {
      // Every offending session denied (to the millisecond), and each end at or after its minute's end.
      expect(await sessionDecision(policy, name, plusSeconds(issued(i), 0.734))).toBe('Denied');
      expect(Date.parse(end(state, name))).toBeGreaterThanOrEqual(Date.parse(plusSeconds(issued(i), 30)));
      // Never coarser than an hour: the vendor's session of that name issued an hour and a minute later is allowed.
      expect(Date.parse(end(state, name))).toBeLessThanOrEqual(Date.parse(plusSeconds(issued(i), 3600 + 5)));
    }
    for (const i of [0, 59, 100, 159])
      expect(await sessionDecision(policy, names[i]!, plusSeconds(issued(i), 3660))).toBe('Allowed');
    // Other sessions of the role stay allowed: no whole-role revocation.
    expect(await sessionDecision(policy, 'someone-else', issued(10))).toBe('Allowed');
    // Written and read back, then merged with one more: still fits, and no end moves earlier.
    const reread = parseRevocationPolicy(JSON.stringify(policy)).state;
    const more = fitToBudget(mergeRevocations(reread, revocation(issued(160), false, 'ExampleCorp-next', NOW)), 0);
    expect(more.fellBack).toBe(false);
    for (const name of names)
      expect(Date.parse(end(more.state, name))).toBeGreaterThanOrEqual(Date.parse(end(state, name)));
  });

  it('the replay’s emulated revoker coarsens too, and reports the later end it gave', async () => {
    const revoker = emulatedRevoker();
    const outcomes = [];
    for (const [i, name] of names.entries())
      outcomes.push(
        await revoker.revokeSession({
          roleArn: 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit',
          assumedRoleId: `${ROLE_ID}:${name}`,
          issuedAt: issued(i),
          expiresAt: plusSeconds(issued(i), 12 * 3600),
          nameShared: false,
          now: new Date(Date.parse(issued(i)) + 180_000),
          intentId: `i-${i}`,
          source: { kind: 'finding', eventId: `e-${i}`, findingKind: 'unexpected-external-id' },
          caller: null,
          dryRun: false,
        }),
      );
    expect(outcomes.every((o) => o.kind === 'revoke-session' && !o.fellBack)).toBe(true);
    // Some were coarsened past their minute's end (issue + 5 s, rounded up to the minute); each outcome says the end
    // its own policy gave: denied a second before it, allowed from it on.
    const later = [...outcomes.entries()].filter(([i, o]) => Date.parse(o.decidedAt) > Date.parse(issued(i)) + 30_000);
    expect(later.length).toBeGreaterThan(0);
    for (const [i, o] of [later[0]!, later.at(-1)!]) {
      expect(await sessionDecision(o.policyDocument, names[i]!, plusSeconds(o.decidedAt, -1))).toBe('Denied');
      expect(await sessionDecision(o.policyDocument, names[i]!, o.decidedAt)).toBe('Allowed');
    }
  });

  it('never coarsens a shared name’s window, and only moves used-once ends later', async () => {
    const shared = revocation(issued(30), true, 'ExampleCorpScanner');
    const fitted = fitToBudget(mergeRevocations(EMPTY_STATE, ...additions, shared), 0);
    expect(fitted.fellBack).toBe(false);
    const window = fitted.state.sessions.find((s) => s.assumedRoleId === `${ROLE_ID}:ExampleCorpScanner`)!;
    expect(window.issuedWindow).toEqual(issueWindow({ issuedAt: issued(30) }));
    const policy = renderRevocationPolicy(fitted.state);
    expect(await sessionDecision(policy, 'ExampleCorpScanner', issued(30))).toBe('Denied');
    // The vendor's own sessions of the shared name, a minute before and after: allowed.
    expect(await sessionDecision(policy, 'ExampleCorpScanner', issued(29))).toBe('Allowed');
    expect(await sessionDecision(policy, 'ExampleCorpScanner', issued(31))).toBe('Allowed');
    // Coarsening an already coarse end keeps it; a finer step never moves one earlier.
    const coarse = coarsenUsedOnce(mergeRevocations(EMPTY_STATE, ...additions), 3600);
    expect(coarsenUsedOnce(coarse, 300)).toEqual(coarse);
    expect(coarsenUsedOnce(coarse, 3600)).toEqual(coarse);
  });
});
