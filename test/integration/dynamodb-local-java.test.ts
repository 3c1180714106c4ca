import { readdirSync, readFileSync } from 'node:fs';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from '@jest/globals';
import { createDocumentClient } from '../../lib/deps.js';
import { DYNAMODB_LOCAL_JAVA_OPTIONS, LOCAL_AWS, startDynamoDbLocal } from '../../lib/local/dynamodb-local.js';

// DynamoDB Local runs with the client compiler only: on a 2-core machine the optimising compiler's threads took more
// CPU than a replay's few thousand calls gave back. The options must reach the Java process, before `-jar`.

// The command line of each process whose parent is `pid` (Linux /proc).
function childCommandLines(pid: number): string[][] {
  const out: string[][] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

describe.each(process.platform === 'linux' ? ['linux'] : [])('DynamoDB Local JVM options (%s)', () => {
  it('starts Java with the client compiler only, and it answers', async () => {
    const local = await startDynamoDbLocal();
    const client = createDocumentClient({ ...LOCAL_AWS, endpoint: local.endpoint });
    try {
      await client.send(new ListTablesCommand({}));
      const java = childCommandLines(local.pid!).find((argv) => argv.includes('-jar'));
      expect(java).toBeDefined();
      const jar = java!.indexOf('-jar');
      expect(DYNAMODB_LOCAL_JAVA_OPTIONS).toEqual(['-XX:TieredStopAtLevel=1']);
      for (const option of DYNAMODB_LOCAL_JAVA_OPTIONS) {
        expect(java).toContain(option);
        expect(java!.indexOf(option)).toBeLessThan(jar);
      }
    } finally {
      client.destroy();
      await local.stop();
    }
  }, 60_000);
});
