import type { ReplayProgress } from '../lib/replay/run-replay.js';
import { formatBytes, formatCount, formatDuration, plural } from './format.js';

/** Where the progress line is written: stderr, or a stand-in in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** The progress of a replay in words: records read of the bytes to read, then events decided of those to decide. */
export function describeProgress(p: ReplayProgress, etaMs: number | null): string {
  const eta = etaMs === null ? '' : `, about ${formatDuration(etaMs)} left`;
  if (p.phase === 'reading') {
    const share = p.bytesTotal ? Math.min(100, Math.floor((100 * p.bytesRead) / p.bytesTotal)) : 100;
    return `reading: ${plural(p.records, 'record')} from ${formatCount(p.filesDone)} of ${plural(p.filesTotal, 'file')}, ${formatBytes(p.bytesRead)} of ${formatBytes(p.bytesTotal)} (${share}%)${eta}`;
  }
  const share = p.toDecide ? Math.floor((100 * p.decided) / p.toDecide) : 100;
  return `deciding: ${formatCount(p.decided)} of ${plural(p.toDecide, 'event')} in time order (${share}%), ${plural(p.records, 'record')} read${eta}`;
}

/**
 * A one-line progress display on stderr, silent when stderr is not a terminal unless forced. It counts records
 * and, once the total is known (the bytes to read, then the events to decide), shows an estimate of the time
 * left. On a terminal the line is rewritten in place and cleared when the run ends.
 */
export function createProgressLine(
  stream: ProgressStream,
  force = false,
  now: () => number = Date.now,
): { update(p: ReplayProgress): void; done(): void } {
  const enabled = force || stream.isTTY === true;
  let last = -Infinity;
  let shown = false;
  let phase: ReplayProgress['phase'] | null = null;
  let phaseStart = 0;
  return {
    update(p) {
      if (!enabled) return;
      if (p.phase !== phase) {
        phase = p.phase;
        phaseStart = now();
      } else if (now() - last < 250) return;
      last = now();
      const [doneSoFar, total] = p.phase === 'reading' ? [p.bytesRead, p.bytesTotal] : [p.decided, p.toDecide];
      const elapsed = now() - phaseStart;
      // Known once some of a known total is done, and some time has passed to measure the pace by; none when done.
      const eta =
        doneSoFar > 0 && total > doneSoFar && elapsed > 0 ? (elapsed * (total - doneSoFar)) / doneSoFar : null;
      const text = describeProgress(p, eta);
      stream.write(stream.isTTY ? `\r${text}\x1b[K` : `${text}\n`);
      shown = true;
    },
    done() {
      // Cleared, so that the report starts on a clean line and no stale count is left on the screen.
      if (shown && stream.isTTY) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
