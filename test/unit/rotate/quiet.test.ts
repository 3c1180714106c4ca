import { describe, expect, it } from '@jest/globals';
import type { RegisteredRole } from '../../../lib/registry/types.js';
import {
  DEFAULT_QUIET_HOURS,
  DELIVERY_MARGIN_MS,
  finishableAt,
  oldIdCallersSince,
  quietHoursOf,
} from '../../../lib/rotate/quiet.js';
import {
  idleRotation,
  MAX_OLD_ID_CALLERS,
  type OldIdUse,
  type Rotation,
  withOldIdUse,
} from '../../../lib/rotate/store.js';

const ROLE: RegisteredRole = {
  roleArn: 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit',
  vendor: 'Example Corp',
  trustedAccounts: ['999988887777'],
  externalIds: { current: 'old-id', pending: 'new-id', retired: [] },
  response: 'alert',
  rotation: { everyDays: 90, graceDays: 7 },
};
const at = (minutes: number) => new Date(Date.UTC(2026, 10, 2, 12) + minutes * 60_000).toISOString();

describe('old-ID use noted on a rotation', () => {
  it('keeps at most 20 callers, the least recently seen dropped first, and the latest use exactly', () => {
    let use: OldIdUse | null = null;
    for (let i = 0; i < MAX_OLD_ID_CALLERS + 5; i++)
      use = withOldIdUse(use, { caller: `worker-${i}`, sourceIp: '192.0.2.1', at: at(i) });
    expect(use!.callers).toHaveLength(MAX_OLD_ID_CALLERS);
    expect(use!.callers[0]!.caller).toBe(`worker-${MAX_OLD_ID_CALLERS + 4}`);
    expect(use!.callers.map((c) => c.caller)).not.toContain('worker-4');
    expect(use!.lastAt).toBe(at(MAX_OLD_ID_CALLERS + 4));
    // A late-delivered, older assume by a new caller is kept without moving the latest use back.
    const late = withOldIdUse(use, { caller: 'late', sourceIp: null, at: at(100 - 200) })!;
    expect(late.lastAt).toBe(use!.lastAt);
  });

  it('tells callers apart by principal and address, and skips the same one within a minute', () => {
    const first = withOldIdUse(null, { caller: 'w', sourceIp: '192.0.2.1', at: at(0) })!;
    expect(withOldIdUse(first, { caller: 'w', sourceIp: '192.0.2.1', at: at(1) })).toBeNull();
    expect(withOldIdUse(first, { caller: 'w', sourceIp: '192.0.2.2', at: at(1) })!.callers).toHaveLength(2);
    const later = withOldIdUse(first, { caller: 'w', sourceIp: '192.0.2.1', at: at(2) })!;
    expect(later.callers).toEqual([{ caller: 'w', sourceIp: '192.0.2.1', firstAt: at(0), lastAt: at(2) }]);
  });
});

describe('the quiet period', () => {
  const confirmed = (extra: Partial<Rotation>): Rotation => ({
    ...idleRotation(ROLE.roleArn, at(0)),
    phase: 'confirmed',
    confirmedAt: at(60),
    ...extra,
  });

  it('runs from the later of the confirmation and the last old-ID use, for the role’s quietHours (24 by default)', () => {
    expect(quietHoursOf(ROLE)).toBe(DEFAULT_QUIET_HOURS);
    expect(DEFAULT_QUIET_HOURS).toBe(24);
    // Plus the one-hour margin for CloudTrail's delivery delay.
    expect(DELIVERY_MARGIN_MS).toBe(60 * 60_000);
    expect(finishableAt(confirmed({}), ROLE)).toBe(at(60 + 24 * 60 + 60));
    const used = confirmed({ oldIdUse: { lastAt: at(300), callers: [] } });
    expect(finishableAt(used, ROLE)).toBe(at(300 + 24 * 60 + 60));
    const quick = { ...ROLE, rotation: { everyDays: 90, graceDays: 7, quietHours: 0 } };
    expect(finishableAt(used, quick)).toBe(at(300 + 60));
    expect(finishableAt({ ...used, phase: 'notified' }, ROLE)).toBeNull();
  });

  it('lists the callers seen since the confirmation', () => {
    const callers = [
      { caller: 'after', sourceIp: null, firstAt: at(10), lastAt: at(90) },
      { caller: 'before', sourceIp: null, firstAt: at(10), lastAt: at(30) },
    ];
    const r = confirmed({ oldIdUse: { lastAt: at(90), callers } });
    expect(oldIdCallersSince(r, r.confirmedAt).map((c) => c.caller)).toEqual(['after']);
    expect(oldIdCallersSince(r, null)).toHaveLength(2);
  });
});
