import type { ReplayProgress } from '../lib/replay/run-replay.js';

/** A one-line progress display on stderr with throughput; silent when stderr is not a terminal unless forced. */
export function createProgressLine(
  stream: NodeJS.WriteStream,
  force = false,
): { update(p: ReplayProgress): void; done(): void } {
  const started = Date.now();
  const enabled = force || stream.isTTY;
  let last = 0;
  let shown = false;
  return {
    update(p) {
      if (!enabled || Date.now() - last < 250) return;
      last = Date.now();
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      const pct = p.bytesTotal ? Math.min(100, (100 * p.bytesRead) / p.bytesTotal) : 100;
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
      const mb = (p.bytesRead / 1048576).toFixed(1);
      const text = `[${bar}] ${pct.toFixed(0).padStart(3)}%  ${p.filesDone}/${p.filesTotal} files  ${p.records} records  ${Math.round(p.records / seconds)} rec/s  ${mb} MiB`;
      stream.write(stream.isTTY ? `\r${text}` : `${text}\n`);
      shown = true;
    },
    done() {
      if (shown && stream.isTTY) stream.write('\n');
    },
  };
}
