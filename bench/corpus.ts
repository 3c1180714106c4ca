import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { prng } from '../test/helpers/prng.js';

export { prng };


// What a real trail is mostly made of: reads and writes of other services.
const NOISE: [string, string][] = [
  ['s3.amazonaws.com', 'GetObject'], ['s3.amazonaws.com', 'ListBuckets'], ['ec2.amazonaws.com', 'DescribeInstances'], ['ec2.amazonaws.com', 'DescribeSecurityGroups'],
  ['kms.amazonaws.com', 'Decrypt'], ['kms.amazonaws.com', 'GenerateDataKey'], ['iam.amazonaws.com', 'GetRole'], ['iam.amazonaws.com', 'ListRoles'],
  ['lambda.amazonaws.com', 'Invoke'], ['dynamodb.amazonaws.com', 'DescribeTable'], ['logs.amazonaws.com', 'CreateLogStream'], ['sts.amazonaws.com', 'GetCallerIdentity'],
];
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const GOOD = 'ec-7Hq2vN9xK4pL8mR3';

function noise(i: number, at: string, random: () => number): Record<string, unknown> {
  const [eventSource, eventName] = NOISE[Math.floor(random() * NOISE.length)]!;
  return {
    eventVersion: '1.09', userIdentity: { type: 'AssumedRole', principalId: `AROAEXAMPLE${i % 97}:worker`, arn: `arn:aws:sts::111122223333:assumed-role/app-${i % 13}/worker`, accountId: '111122223333' },
    eventTime: at, eventSource, eventName, awsRegion: 'us-east-1', sourceIPAddress: `10.0.${i % 250}.${(i * 7) % 250}`, userAgent: 'aws-sdk-java/2.25.0 Linux/5.10',
    requestParameters: { bucketName: `data-${i % 31}`, key: `logs/${i}.json` }, responseElements: null, requestID: `req-${i}`, eventID: `noise-${i}`,
    readOnly: true, eventType: 'AwsApiCall', managementEvent: true, recipientAccountId: '111122223333', eventCategory: 'Management',
  };
}

/** An AssumeRole of the guarded role (the current ID; one in twenty a wrong one) or of another role. */
export function assume(i: number, at: string, random: () => number, options: { guarded?: boolean; wrong?: boolean } = {}): Record<string, unknown> {
  const guarded = options.guarded ?? random() < 0.2;
  const roleArn = guarded ? ROLE : `arn:aws:iam::111122223333:role/app-role-${i % 50}`;
  const externalId = guarded ? (options.wrong ?? random() < 0.05 ? `guess-${i}` : GOOD) : null;
  const session = `bench-${i}`;
  return {
    eventVersion: '1.08', userIdentity: { type: 'AWSAccount', principalId: `AIDAVENDOR${i % 1000}`, accountId: '999988887777' },
    eventTime: at, eventSource: 'sts.amazonaws.com', eventName: 'AssumeRole', awsRegion: 'us-east-1', sourceIPAddress: '203.0.113.25', userAgent: 'aws-sdk-go/1.44',
    requestParameters: { roleArn, roleSessionName: session, durationSeconds: 3600, ...(externalId ? { externalId } : {}) },
    responseElements: {
      credentials: { accessKeyId: `ASIABENCH${String(i).padStart(11, '0')}`, sessionToken: '<redacted>', expiration: new Date(Date.parse(at) + 3600_000).toISOString() },
      assumedRoleUser: { assumedRoleId: `AROA3XFRBF23EXAMPLE1:${session}`, arn: `arn:aws:sts::111122223333:assumed-role/x/${session}` },
    },
    requestID: `req-a-${i}`, eventID: `assume-${i}`, readOnly: true, resources: [{ accountId: '111122223333', type: 'AWS::IAM::Role', ARN: roleArn }],
    eventType: 'AwsApiCall', managementEvent: true, recipientAccountId: '111122223333', sharedEventID: `shared-${i}`, eventCategory: 'Management',
  };
}

/**
 * Write `records` CloudTrail records as gzipped log files (`{"Records":[…]}`, 2,000 per file, as CloudTrail
 * writes them), one in a hundred an AssumeRole. Returns the directory and the bytes written.
 */
export function writeCorpus(dir: string, records: number, seed = 42): { dir: string; files: number; gzBytes: number; jsonBytes: number } {
  mkdirSync(dir, { recursive: true });
  const random = prng(seed);
  const perFile = 2000;
  let gzBytes = 0;
  let jsonBytes = 0;
  let files = 0;
  const start = Date.parse('2026-10-01T00:00:00Z');
  for (let first = 0; first < records; first += perFile) {
    const batch: Record<string, unknown>[] = [];
    for (let i = first; i < Math.min(records, first + perFile); i++) {
      const at = new Date(start + i * 2500).toISOString().replace('.000Z', 'Z');
      batch.push(random() < 0.01 ? assume(i, at, random) : noise(i, at, random));
    }
    const json = JSON.stringify({ Records: batch });
    const gz = gzipSync(json, { level: 6 });
    writeFileSync(join(dir, `111122223333_CloudTrail_us-east-1_${String(files).padStart(5, '0')}.json.gz`), gz);
    gzBytes += gz.length;
    jsonBytes += json.length;
    files++;
  }
  return { dir, files, gzBytes, jsonBytes };
}
