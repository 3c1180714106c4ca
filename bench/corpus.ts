import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { prng } from '../test/helpers/prng.js';
import { ACCOUNT, type AssumeKind, assumeRecord, type CtRecord, noiseRecord } from './records.js';

/** What was written: the trail's root, its files in order, and the mix of records. */
export interface Corpus {
  dir: string;
  files: string[];
  records: number;
  gzBytes: number;
  jsonBytes: number;
  mix: Record<'noise' | AssumeKind, number>;
}

/** Share of records that are AssumeRole; of those, by AWS services, by the account's apps, and by the vendor. */
export const ASSUME_SHARE = 0.015;
const SERVICE_SHARE = 0.6;
const APP_SHARE = 0.35;
/** One record in this many is the vendor's assume of ExampleCorpAudit with a wrong external ID: a few per run. */
const WRONG_ID_EVERY = 100_000;

function kindOf(i: number, random: () => number): 'noise' | AssumeKind {
  if (i % WRONG_ID_EVERY === WRONG_ID_EVERY / 2) return 'vendor-wrong-id';
  if (random() >= ASSUME_SHARE) return 'noise';
  const r = random();
  return r < SERVICE_SHARE ? 'service' : r < SERVICE_SHARE + APP_SHARE ? 'app' : 'vendor';
}

/**
 * Write `records` CloudTrail records, seeded, as a trail delivers them: gzipped `{"Records":[…]}` files on one line,
 * one per five minutes (2,000 to 4,000 records each), under AWSLogs/<account>/CloudTrail/<region>/<y>/<m>/<d>/.
 */
export function writeCorpus(root: string, records: number, seed = 20261001): Corpus {
  const random = prng(seed);
  const mix: Corpus['mix'] = { noise: 0, service: 0, app: 0, vendor: 0, 'vendor-wrong-id': 0 };
  const files: string[] = [];
  let gzBytes = 0;
  let jsonBytes = 0;
  let slot = Date.parse('2026-10-01T00:00:00Z');
  for (let i = 0; i < records; slot += 300_000) {
    const count = Math.min(records - i, 2000 + Math.floor(random() * 2000));
    const batch: CtRecord[] = [];
    for (let k = 0; k < count; k++, i++) {
      const at = new Date(slot + Math.floor((k * 300_000) / count)).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const kind = kindOf(i, random);
      mix[kind]++;
      batch.push(kind === 'noise' ? noiseRecord(random, at) : assumeRecord(random, at, kind, i));
    }
    const day = new Date(slot).toISOString();
    const dir = join(
      root,
      'AWSLogs',
      ACCOUNT,
      'CloudTrail',
      'us-east-1',
      day.slice(0, 4),
      day.slice(5, 7),
      day.slice(8, 10),
    );
    mkdirSync(dir, { recursive: true });
    const stamp = `${day.slice(0, 10).replace(/-/g, '')}T${day.slice(11, 16).replace(':', '')}Z`;
    const file = join(
      dir,
      `${ACCOUNT}_CloudTrail_us-east-1_${stamp}_${Math.floor(random() * 2 ** 32)
        .toString(36)
        .padStart(7, '0')}.json.gz`,
    );
    const json = JSON.stringify({ Records: batch });
    const gz = gzipSync(json);
    writeFileSync(file, gz);
    files.push(file);
    gzBytes += gz.length;
    jsonBytes += Buffer.byteLength(json);
  }
  return { dir: root, files, records, gzBytes, jsonBytes, mix };
}
