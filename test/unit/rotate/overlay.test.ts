import { describe, expect, it } from '@jest/globals';
import type { Registry } from '../../../lib/registry/index.js';
import { generateExternalId } from '../../../lib/rotate/external-id.js';
import { withRotations } from '../../../lib/rotate/overlay.js';
import { idleRotation, type Rotation } from '../../../lib/rotate/store.js';
import { isOwnTrustWrite, policyHash } from '../../../lib/rotate/writes.js';

const ARN = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const registry = (current: string | null, pending: string | null = null, retired: string[] = ['r-0ld']): Registry => ({
  serviceRoleArns: [],
  protectedRoleArns: [],
  roles: [
    {
      roleArn: ARN,
      vendor: 'Example Corp',
      trustedAccounts: ['999988887777'],
      externalIds: { current, pending, retired },
      response: 'alert',
      rotation: { everyDays: 90, graceDays: 7 },
    },
  ],
});
const rotation = (phase: Rotation['phase'], extra: Partial<Rotation> = {}): Rotation => ({
  ...idleRotation(ARN, '2026-01-01T00:00:00.000Z'),
  version: 3,
  phase,
  previousId: 'old-id',
  pendingId: 'new-id',
  ...extra,
});
const ids = (r: Registry) => r.roles[0]!.externalIds;

describe('the registry as rotations changed it', () => {
  it('accepts the pending ID while a rotation that started from the current ID is in flight', () => {
    for (const phase of ['created', 'set', 'notified', 'confirmed'] as const) {
      expect(ids(withRotations(registry('old-id'), [rotation(phase)]))).toEqual({
        current: 'old-id',
        pending: 'new-id',
        retired: ['r-0ld'],
      });
    }
  });

  it('keeps the previous ID accepted while in flight when the registry was re-imported with the new ID current', () => {
    for (const phase of ['created', 'set', 'notified', 'confirmed'] as const) {
      for (const pending of [null, 'old-id']) {
        expect(ids(withRotations(registry('new-id', pending, ['r-0ld', 'old-id']), [rotation(phase)]))).toEqual({
          current: 'new-id',
          pending: 'old-id',
          retired: ['r-0ld'],
        });
      }
    }
  });

  const finished = (extra: Partial<Rotation> = {}) =>
    rotation('finished', { currentId: 'new-id', retiredAt: { 'old-id': '2026-02-01T00:00:00.000Z' }, ...extra });

  it('makes the new ID current and retires the old one once finished, also when the file already has the new ID', () => {
    expect(ids(withRotations(registry('old-id'), [finished()]))).toEqual({
      current: 'new-id',
      pending: null,
      retired: ['r-0ld', 'old-id'],
    });
    expect(ids(withRotations(registry('new-id'), [finished()]))).toEqual({
      current: 'new-id',
      pending: null,
      retired: ['r-0ld', 'old-id'],
    });
  });

  it('keeps the right current ID through a second and third rotation, while the file still names the first', () => {
    // Rotation 2 in flight: ID1 (made current by rotation 1) → ID2.
    const second = rotation('notified', {
      previousId: 'id-1',
      pendingId: 'id-2',
      currentId: 'id-1',
      retiredAt: { 'id-0': '2026-02-01T00:00:00.000Z' },
    });
    expect(ids(withRotations(registry('id-0'), [second]))).toEqual({
      current: 'id-1',
      pending: 'id-2',
      retired: ['r-0ld', 'id-0'],
    });
    const secondDone = rotation('finished', {
      previousId: 'id-1',
      pendingId: 'id-2',
      currentId: 'id-2',
      retiredAt: { 'id-0': '2026-02-01T00:00:00.000Z', 'id-1': '2026-05-01T00:00:00.000Z' },
    });
    expect(ids(withRotations(registry('id-0'), [secondDone]))).toEqual({
      current: 'id-2',
      pending: null,
      retired: ['r-0ld', 'id-0', 'id-1'],
    });
    // A file updated to rotation 1's ID, and one with a pending ID roleguard already retired.
    expect(ids(withRotations(registry('id-1'), [secondDone]))).toEqual({
      current: 'id-2',
      pending: null,
      retired: ['r-0ld', 'id-0', 'id-1'],
    });
    expect(ids(withRotations(registry('id-1', 'id-2'), [secondDone]))).toEqual({
      current: 'id-2',
      pending: null,
      retired: ['r-0ld', 'id-0', 'id-1'],
    });
  });

  it('lets a registry re-imported with an ID roleguard never handled win; what roleguard retired stays retired', () => {
    expect(ids(withRotations(registry('imported-id'), [rotation('notified')]))).toEqual({
      current: 'imported-id',
      pending: null,
      retired: ['r-0ld'],
    });
    expect(ids(withRotations(registry('imported-id'), [finished()]))).toEqual({
      current: 'imported-id',
      pending: null,
      retired: ['r-0ld', 'old-id'],
    });
  });

  it('retires IDs dropped by a rollback, and never lists current or pending as retired', () => {
    expect(
      ids(
        withRotations(registry('old-id'), [
          rotation('rolled-back', { retiredAt: { 'new-id': '2026-02-01T00:00:00.000Z' } }),
        ]),
      ),
    ).toEqual({ current: 'old-id', pending: null, retired: ['r-0ld', 'new-id'] });
  });

  it('leaves roles without a rotation, and idle ones, as they are', () => {
    const base = registry('old-id');
    expect(withRotations(base, [])).toBe(base);
    expect(ids(withRotations(base, [rotation('idle', { pendingId: null, previousId: null })]))).toEqual(ids(base));
  });
});

describe('generated external IDs', () => {
  it('have the asked length, only letters and digits, and differ', () => {
    const seen = new Set(Array.from({ length: 200 }, () => generateExternalId()));
    expect(seen.size).toBe(200);
    for (const id of seen) expect(id).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(generateExternalId(2)).toHaveLength(2);
    expect(generateExternalId(1224)).toHaveLength(1224);
  });

  it('refuse lengths STS does not accept', () => {
    for (const length of [0, 1, 1225, 3.5]) expect(() => generateExternalId(length)).toThrow(RangeError);
  });

  it('use every symbol of the alphabet (the draw is not biased to a part of it)', () => {
    const counts = new Map<string, number>();
    for (const ch of Array.from({ length: 400 }, () => generateExternalId(64)).join(''))
      counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // 25,600 draws over 62 symbols: about 413 each; a biased draw would leave some far below.
    expect(Math.min(...counts.values())).toBeGreaterThan(300);
  });
});

describe("roleguard's own trust-policy writes", () => {
  const policy = {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::999988887777:root' }, Action: 'sts:AssumeRole' }],
  };
  const written = rotation('set', {
    writes: [{ hash: policyHash(policy), at: '2026-11-02T10:00:00.000Z', step: 'set' }],
  });

  it('are recognised by content, however spaced, ordered or URL-encoded, within an hour of the record', () => {
    const reordered = JSON.stringify(
      {
        Statement: [
          { Action: 'sts:AssumeRole', Principal: { AWS: 'arn:aws:iam::999988887777:root' }, Effect: 'Allow' },
        ],
        Version: '2012-10-17',
      },
      null,
      4,
    );
    expect(isOwnTrustWrite(written, reordered, '2026-11-02T10:00:05Z')).toMatchObject({ step: 'set' });
    expect(isOwnTrustWrite(written, encodeURIComponent(JSON.stringify(policy)), '2026-11-02T10:59:00Z')).not.toBeNull();
  });

  it('are not: another policy, the same policy written again later, a missing or unreadable document', () => {
    expect(
      isOwnTrustWrite(written, JSON.stringify({ ...policy, Version: '2008-10-17' }), '2026-11-02T10:00:05Z'),
    ).toBeNull();
    expect(isOwnTrustWrite(written, JSON.stringify(policy), '2026-11-03T10:00:05Z')).toBeNull();
    expect(isOwnTrustWrite(written, null, '2026-11-02T10:00:05Z')).toBeNull();
    expect(isOwnTrustWrite(written, '{not json', '2026-11-02T10:00:05Z')).toBeNull();
    expect(isOwnTrustWrite(null, JSON.stringify(policy), '2026-11-02T10:00:05Z')).toBeNull();
  });
});
