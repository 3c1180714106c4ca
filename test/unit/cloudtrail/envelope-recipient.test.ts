import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { unwrapDocument, unwrapEventBridge } from '../../../lib/cloudtrail/envelope.js';
import type { Deps } from '../../../lib/deps.js';
import { handleCloudTrailEvent } from '../../../lib/handle-event.js';
import { EVENTS_DIR } from '../../helpers/fixtures.js';
import { memoryLogger } from '../../helpers/logger.js';

// A CloudTrail event is put on the bus of the account that recorded it, and forwarded from there unchanged: its
// envelope `account` is its `detail.recipientAccountId`. One that differs is rejected, like any other bad event.
const vendorEvent = (): Record<string, unknown> =>
  JSON.parse(readFileSync(join(EVENTS_DIR, 'eventbridge-assume-role-vendor.json'), 'utf8'));

function misrouted(): Record<string, unknown> {
  const event = vendorEvent();
  return { ...event, account: '444455556666' };
}

describe('EventBridge envelope account against detail.recipientAccountId', () => {
  it('takes the record out of an event whose envelope account is its recipient', () => {
    const item = unwrapEventBridge(vendorEvent(), 'bus');
    expect('record' in item && (item.record as { eventID: string }).eventID).toBe(
      '8f1d3c52-9a7e-4b1f-b6a2-3c9d5e7f1a01',
    );
  });

  it('rejects an event whose envelope account differs, naming both accounts', () => {
    const item = unwrapEventBridge(misrouted(), 'bus');
    expect(item).toEqual({
      source: 'bus',
      rejected: expect.stringMatching(
        /^EventBridge envelope account "444455556666" differs from detail\.recipientAccountId "111122223333": .*altered or misrouted$/,
      ),
    });
  });

  it('rejects it in a replayed file too (an array of events), the other events going on', () => {
    const items = [...unwrapDocument([vendorEvent(), misrouted()], 'events.json')];
    expect(items.map((i) => ('rejected' in i ? `${i.source}: rejected` : `${i.source}: record`))).toEqual([
      'events.json:0: record',
      'events.json:1: rejected',
    ]);
  });

  it('the handler counts it as rejected with the reason, and decides nothing', async () => {
    const { logger, lines } = memoryLogger();
    // Only the logger is reached: a rejected envelope never reads the registry or writes a session.
    const deps = { logger } as unknown as Deps;
    const result = await handleCloudTrailEvent(misrouted(), deps);
    expect(result).toEqual({
      status: 'rejected',
      eventId: null,
      reason: expect.stringContaining('differs from detail.recipientAccountId'),
    });
    expect(lines.some((l) => l.includes('event rejected') && l.includes('444455556666'))).toBe(true);
  });
});
