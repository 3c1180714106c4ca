// The worker thread of a replay's reading pass (bundled as dist/replay-worker.js): it reads and classifies the
// files it is given, one at a time, and sends back only what the main thread keeps (lib/replay/collect-file.ts).
import { parentPort } from 'node:worker_threads';
import { collectFile } from './collect-file.js';
import type { ReadJob, ReadMessage } from './read-pool.js';

const port = parentPort!;
port.on('message', async (job: ReadJob) => {
  const send = (message: ReadMessage) => port.postMessage(message);
  try {
    const result = await collectFile(job.path, job.read, job.recordAwsServiceAssumes, {
      onProgress: (bytes, records) => send({ index: job.index, progress: [bytes, records] }),
    });
    send({ index: job.index, result });
  } catch (error) {
    send({ index: job.index, error: (error as Error).message });
  }
});
