import { readFileSync } from 'node:fs';
import { parseRegistryText } from '../lib/registry/text.js';
import { runReplay } from '../lib/replay/run-replay.js';
import { benchDocumentClient, REGISTRY_FILE, replayDeps, type Tables } from './store.js';

/**
 * The child process of the memory figure (`dist/bench.js --child-replay LIST`): replay the listed files into the
 * given tables and print the run's peak RSS (the kernel's count) and peak V8 heap, as one JSON line.
 */
export async function replayChild(listFile: string): Promise<void> {
  const { files, endpoint, tables } = JSON.parse(readFileSync(listFile, 'utf8')) as {
    files: string[];
    endpoint: string;
    tables: Tables;
  };
  const dynamo = benchDocumentClient(endpoint);
  const registry = parseRegistryText(readFileSync(REGISTRY_FILE, 'utf8'), REGISTRY_FILE);
  let peakHeap = 0;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 20);
  const start = performance.now();
  try {
    const report = await runReplay(replayDeps(dynamo, registry, tables), { paths: files });
    const seconds = (performance.now() - start) / 1000;
    const mb = (bytes: number) => Math.round(bytes / 1048576);
    // What the run holds on to (the report, with every session recorded), once the garbage is collected.
    (globalThis as { gc?: () => void }).gc?.();
    const retainedHeapMB = mb(process.memoryUsage().heapUsed);
    process.stdout.write(
      `${JSON.stringify({ records: report.summary.eventsRead, sessionsInReport: report.sessions.length, peakRssMB: mb(process.resourceUsage().maxRSS * 1024), peakHeapUsedMB: mb(peakHeap), retainedHeapMB, seconds: Math.round(seconds * 10) / 10 })}\n`,
    );
  } finally {
    clearInterval(sampler);
    dynamo.destroy();
  }
}
