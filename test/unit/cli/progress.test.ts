import { describe, expect, it } from '@jest/globals';
import { createProgressLine, type ProgressStream } from '../../../cli/progress.js';
import type { ReplayProgress } from '../../../lib/replay/run-replay.js';

// A terminal as far as a progress line cares: `\r` returns to the line's start, ESC[K clears the rest of it.
function terminal(isTTY = true): ProgressStream & { screen(): string; writes: string[] } {
  let line = '';
  let cursor = 0;
  const writes: string[] = [];
  return {
    isTTY,
    writes,
    write(text: string) {
      writes.push(text);
      for (let i = 0; i < text.length; i++) {
        if (text[i] === '\r') cursor = 0;
        else if (text.startsWith('\x1b[K', i)) {
          line = line.slice(0, cursor);
          i += 2;
        } else {
          line = line.slice(0, cursor) + text[i] + line.slice(cursor + 1);
          cursor++;
        }
      }
      return true;
    },
    screen: () => line,
  };
}

const MiB = 1024 * 1024;
const reading = (records: number, bytesRead: number, filesDone: number): ReplayProgress => ({
  phase: 'reading',
  bytesRead,
  bytesTotal: 4 * MiB,
  records,
  filesDone,
  filesTotal: 2,
  decided: 0,
  toDecide: 0,
});

describe('the replay progress line', () => {
  it('counts records against the bytes to read, then events decided of the total, with the time left', () => {
    let clock = 0;
    const term = terminal();
    const progress = createProgressLine(term, false, () => clock);
    progress.update(reading(1, 0, 0));
    // Nothing done yet: no estimate.
    expect(term.screen()).toBe('reading: 1 record from 0 of 2 files, 0 B of 4.0 MiB (0%)');
    clock = 10_000;
    progress.update(reading(25_000, MiB, 1));
    expect(term.screen()).toBe('reading: 25,000 records from 1 of 2 files, 1.0 MiB of 4.0 MiB (25%), about 30s left');
    // Throttled: at most four redraws a second.
    clock = 10_100;
    progress.update(reading(26_000, MiB, 1));
    expect(term.screen()).toMatch(/^reading: 25,000 records/);
    clock = 11_000;
    const deciding: ReplayProgress = { ...reading(100_000, 4 * MiB, 2), phase: 'deciding', toDecide: 1, decided: 0 };
    progress.update(deciding);
    expect(term.screen()).toBe('deciding: 0 of 1 event in time order (0%), 100,000 records read');
    clock = 71_000;
    progress.update({ ...deciding, toDecide: 400, decided: 100 });
    expect(term.screen()).toBe(
      'deciding: 100 of 400 events in time order (25%), 100,000 records read, about 3m 00s left',
    );
    clock = 131_000;
    progress.update({ ...deciding, toDecide: 400, decided: 400 });
    expect(term.screen()).toBe('deciding: 400 of 400 events in time order (100%), 100,000 records read');
    progress.done();
    // Cleared when the run ends: nothing of it is left on the screen.
    expect(term.screen()).toBe('');
    expect(term.writes.at(-1)).toBe('\r\x1b[K');
  });

  it('is silent when stderr is not a terminal, and prints plain lines there when forced', () => {
    const quiet = terminal(false);
    const line = createProgressLine(quiet, false, () => 0);
    line.update(reading(1, 0, 0));
    line.done();
    expect(quiet.writes).toEqual([]);
    const forced = terminal(false);
    const shown = createProgressLine(forced, true, () => 0);
    shown.update(reading(1, 0, 0));
    shown.done();
    expect(forced.writes).toEqual(['reading: 1 record from 0 of 2 files, 0 B of 4.0 MiB (0%)\n']);
  });
});
