// The worker thread of a replay's reading pass (bundled as dist/replay-worker.js): it reads and classifies the
// files it is given, one at a time, and sends back only what the main thread keeps (lib/replay/collect-file.ts).
import { parentPort } from 'node:worker_threads';
import { collectFile } from './collect-file.js';
import type { ReadJob, ReadMessage } from './read-pool.js';

// Progress is gathered and sent at most this often (and before each result): every message wakes the main thread,
// and with as many workers as cores each wake-up takes a core from a worker.
const PROGRESS_MS = 100;

const port = parentPort!;
let lastSent = 0;
port.on('message', async (job: ReadJob) => {
  const send = (message: ReadMessage) => port.postMessage(message);
  let bytes = 0;
  let records = 0;
  const flush = () => {
    if (bytes || records) send({ index: job.index, progress: [bytes, records] });
    bytes = records = 0;
    lastSent = performance.now();
  };
  try {
    const result = await collectFile(job.path, job.read, job.recordAwsServiceAssumes, {
      onProgress: (moreBytes, moreRecords) => {
        bytes += moreBytes;
        records += moreRecords;
        if (performance.now() - lastSent >= PROGRESS_MS) flush();
      },
    });
    flush();
    send({ index: job.index, result });
  } catch (error) {
    send({ index: job.index, error: (error as Error).message });
  }
});
