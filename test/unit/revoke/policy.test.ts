import { describe, expect, it } from '@jest/globals';
import {
  EMPTY_STATE,
  fitToBudget,
  isAssumedRoleId,
  mergeRevocations,
  type PolicyDocument,
  parseRevocationPolicy,
  policySize,
  policyTime,
  pruneRevocations,
  pruneTime,
  type RevocationState,
  ROLE_INLINE_POLICY_BUDGET,
  renderRevocationPolicy,
} from '../../../lib/revoke/policy.js';
import { ROLE_ID, sessionDecision } from '../../helpers/revocation.js';

// Policies are checked with an independent IAM evaluator (AGPL, test-only), never by comparing JSON.
const decide = (policy: PolicyDocument | null, session: string, issuedAt: string) =>
  sessionDecision(policy, session, issuedAt);

const session = (name: string, decidedAt: string, pruneAfter = '2026-11-02T22:00:00Z'): RevocationState => ({
  role: null,
  sessions: [{ assumedRoleId: `${ROLE_ID}:${name}`, decidedAt, pruneAfter }],
});

describe('revocation policy, checked with an IAM evaluator', () => {
  it('a whole-role revocation that takes over a longer-lived session keeps denying it until that session expires', async () => {
    // A fallback to the whole role (sessions until 11:00), then an older decision about a session living until 21:59.
    const merged = mergeRevocations(
      { role: { decidedAt: '2026-11-02T10:00:05Z', pruneAfter: '2026-11-02T11:00:00Z' }, sessions: [] },
      session('long-lived', '2026-11-02T10:00:00Z', '2026-11-02T21:59:00Z'),
    );
    const folded = pruneRevocations(merged, new Date('2026-11-02T10:01:00Z'));
    expect(folded).toEqual({
      role: { decidedAt: '2026-11-02T10:00:05Z', pruneAfter: '2026-11-02T21:59:00Z' },
      sessions: [],
    });
    // Past the role's first prune time, the session is still denied.
    const later = renderRevocationPolicy(pruneRevocations(folded, new Date('2026-11-02T11:30:00Z')));
    expect(await decide(later, 'long-lived', '2026-11-02T09:59:00Z')).toBe('Denied');
  });

  it('denies the revoked session, and allows a session of the same name issued one second after the decision', async () => {
    const policy = renderRevocationPolicy(session('scan-1', '2026-11-02T10:00:00Z'))!;
    expect(await decide(policy, 'scan-1', '2026-11-02T09:15:04Z')).toBe('Denied');
    expect(await decide(policy, 'scan-1', '2026-11-02T10:00:01Z')).toBe('Allowed');
    // Other sessions of the role stay allowed.
    expect(await decide(policy, 'scan-2', '2026-11-02T09:15:04Z')).toBe('Allowed');
    expect(await decide(null, 'scan-1', '2026-11-02T09:15:04Z')).toBe('Allowed');
  });

  it('groups sessions revoked at the same time in one statement, and each stays denied', async () => {
    const state = mergeRevocations(
      EMPTY_STATE,
      session('a', '2026-11-02T10:00:00Z'),
      session('b', '2026-11-02T10:00:00Z'),
      session('c', '2026-11-02T11:00:00Z'),
    );
    const policy = renderRevocationPolicy(state)!;
    expect(policy.Statement).toHaveLength(2);
    for (const name of ['a', 'b', 'c']) expect(await decide(policy, name, '2026-11-02T09:59:00Z')).toBe('Denied');
    expect(await decide(policy, 'c', '2026-11-02T10:30:00Z')).toBe('Denied');
    expect(await decide(policy, 'a', '2026-11-02T10:30:00Z')).toBe('Allowed');
  });

  it('never moves a revocation time backwards, whatever the order of merges', async () => {
    const early = session('a', '2026-11-02T10:00:00Z');
    const late = session('a', '2026-11-02T12:00:00Z');
    const one = renderRevocationPolicy(mergeRevocations(EMPTY_STATE, early, late));
    const other = renderRevocationPolicy(mergeRevocations(mergeRevocations(EMPTY_STATE, late), early));
    expect(one).toEqual(other);
    expect(await decide(one, 'a', '2026-11-02T11:00:00Z')).toBe('Denied');
    // Round trip through the written policy keeps it.
    const reread = parseRevocationPolicy(JSON.stringify(other)).state;
    expect(renderRevocationPolicy(mergeRevocations(reread, early))).toEqual(one);
  });

  it('whole-role revocation denies every session issued before it and none after, and covers earlier targeted ones', async () => {
    const state = mergeRevocations(session('a', '2026-11-02T10:00:00Z'), {
      role: { decidedAt: '2026-11-02T11:00:00Z', pruneAfter: '2026-11-02T23:00:00Z' },
      sessions: [],
    });
    const policy = renderRevocationPolicy(pruneRevocations(state, new Date('2026-11-02T11:00:00Z')))!;
    expect(policy.Statement).toHaveLength(1);
    expect(await decide(policy, 'anyone', '2026-11-02T10:59:59Z')).toBe('Denied');
    expect(await decide(policy, 'anyone', '2026-11-02T11:00:01Z')).toBe('Allowed');
  });

  it('after pruning, nothing still alive becomes allowed', async () => {
    const state = mergeRevocations(
      EMPTY_STATE,
      session('old', '2026-11-02T01:00:00Z', '2026-11-02T02:00:00Z'),
      session('live', '2026-11-02T10:00:00Z', '2026-11-02T22:00:00Z'),
    );
    const now = new Date('2026-11-02T12:00:00Z');
    const pruned = renderRevocationPolicy(pruneRevocations(state, now))!;
    expect(pruned.Statement).toHaveLength(1);
    // The live session is still denied; the pruned one had expired by `now`, so its tokens are no longer valid anyway.
    expect(await decide(pruned, 'live', '2026-11-02T09:00:00Z')).toBe('Denied');
    expect(pruneRevocations(state, new Date('2026-11-02T22:00:00Z'))).toEqual(EMPTY_STATE);
  });

  it('fits at least 150 distinct sessions in the inline budget, and falls back to the whole role when full', async () => {
    const many = mergeRevocations(
      EMPTY_STATE,
      ...Array.from({ length: 150 }, (_, i) =>
        session(`vendor-scan-${String(i).padStart(4, '0')}`, '2026-11-02T10:00:00Z'),
      ),
    );
    const fitted = fitToBudget(many, 0);
    expect(fitted.fellBack).toBe(false);
    expect(policySize(renderRevocationPolicy(fitted.state))).toBeLessThanOrEqual(ROLE_INLINE_POLICY_BUDGET);
    // Another inline policy of the role uses most of the budget: whole-role revocation instead, still denying them.
    const crowded = fitToBudget(many, 9_000);
    expect(crowded.fellBack).toBe(true);
    const policy = renderRevocationPolicy(crowded.state)!;
    expect(await decide(policy, 'vendor-scan-0042', '2026-11-02T09:00:00Z')).toBe('Denied');
    expect(await decide(policy, 'vendor-scan-0042', '2026-11-02T10:00:01Z')).toBe('Allowed');
  });

  it('counts size as IAM does, without whitespace, and validates what goes into a policy', () => {
    expect(policySize('{ "a" : [ 1, 2 ] }')).toBe('{"a":[1,2]}'.length);
    expect(isAssumedRoleId(`${ROLE_ID}:ExampleCorp-scan-1730538904`)).toBe(true);
    expect(isAssumedRoleId(`${ROLE_ID}:bad"name`)).toBe(false);
    expect(isAssumedRoleId('AIDAEXAMPLE:user')).toBe(false);
    expect(policyTime('2026-11-02T10:00:00.987Z')).toBe('2026-11-02T10:00:00Z');
    expect(pruneTime('2026-11-02T10:00:00Z', '2026-11-02T11:00:00.5Z')).toBe('2026-11-02T11:00:01Z');
    expect(pruneTime('2026-11-02T10:00:00Z', null, 3600)).toBe('2026-11-02T11:00:00Z');
    expect(pruneTime('2026-11-02T10:00:00Z', null, 99 * 3600)).toBe('2026-11-02T22:00:00Z');
    expect(
      parseRevocationPolicy({
        Version: '2012-10-17',
        Statement: [{ Sid: 'SomeoneElse', Effect: 'Deny', Action: '*', Resource: '*' }],
      }).foreign,
    ).toBe(1);
  });
});
