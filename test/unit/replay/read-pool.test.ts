import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_READ_OPTIONS } from '../../../lib/cloudtrail/read-inputs.js';
import { collectRecords } from '../../../lib/replay/collect.js';
import { defaultWorkers } from '../../../lib/replay/read-pool.js';
import { emptyReport } from '../../../lib/replay/report.js';

// Workers that misbehave: the pool must fail the run and name the file, never wait forever for a reply.
let dir: string;
const files = () => [1, 2, 3].map((n) => ({ path: join(dir, `f${n}.jsonl`), bytes: 2 }));

function stub(name: string, onJob: string): URL {
  const path = join(dir, name);
  writeFileSync(
    path,
    `import { parentPort } from 'node:worker_threads';\nparentPort.on('message', (job) => { ${onJob} });\n`,
  );
  return pathToFileURL(path);
}

const collect = (script: URL) =>
  collectRecords(files(), emptyReport(), [], {
    read: DEFAULT_READ_OPTIONS,
    recordAwsServiceAssumes: false,
    workers: 2,
    workerScript: script,
  });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'roleguard-pool-'));
  for (const n of [1, 2, 3]) writeFileSync(join(dir, `f${n}.jsonl`), '{}\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the replay reading pool', () => {
  it('fails, naming the file, when a worker exits with code 0 without replying', async () => {
    const quits = stub('quits.mjs', 'process.exit(0);');
    await expect(collect(quits)).rejects.toThrow(/reading .*f[12]\.jsonl: a replay worker stopped .*exit code 0/);
  });

  it('fails, naming the file, when a worker crashes on its job', async () => {
    const crashes = stub('crashes.mjs', 'throw new Error(`boom on ${job.path}`);');
    await expect(collect(crashes)).rejects.toThrow(/reading .*(f[12])\.jsonl: boom on .*\1\.jsonl/);
  });
});

describe('the default number of reading workers', () => {
  it('is the cores, at most 4: each worker may hold a whole 256 MiB document', () => {
    expect(defaultWorkers(1)).toBe(1);
    expect(defaultWorkers(2)).toBe(2);
    expect(defaultWorkers(4)).toBe(4);
    expect(defaultWorkers(64)).toBe(4);
  });
});
