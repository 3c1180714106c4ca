import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand, NoSuchEntityException, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { main } from '../../cli/main.js';
import { testEndpoint } from '../helpers/dynamo.js';

// `roleguard revoke`, run in-process so that IAM can be mocked; the lock lives in the test DynamoDB Local.
const iam = mockClient(IAMClient);
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
let dir: string;
let registry: string;

async function run(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown) => ((stdout += String(chunk)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => ((stderr += String(chunk)), true));
  try {
    const status = await main(['node', 'roleguard', 'revoke', ...args, '--registry', registry, '--endpoint', testEndpoint(), '--table', `revoke-${Date.now()}`]);
    return { status, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'roleguard-revoke-cli-'));
  registry = join(dir, 'registry.yaml');
  writeFileSync(registry, `protectedRoleArns: ["arn:aws:iam::111122223333:role/BreakGlass"]\nroles: []\n`);
  iam.on(GetRolePolicyCommand).rejects(new NoSuchEntityException({ message: 'none', $metadata: {} }));
  iam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [] });
  iam.on(PutRolePolicyCommand).resolves({});
});
afterAll(() => {
  iam.restore();
  rmSync(dir, { recursive: true, force: true });
});

describe('roleguard revoke', () => {
  it('shows the policy in a dry run and writes nothing; writes only roleguard-revocations with --apply', async () => {
    const dry = await run(['--role', ROLE, '--session', 'AROA3XFRBF23EXAMPLE1:ExampleCorp-scan-1730591251']);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/^Dry run: would revoke session AROA3XFRBF23EXAMPLE1:ExampleCorp-scan-1730591251/);
    expect(dry.stdout).toContain('"aws:userid": "AROA3XFRBF23EXAMPLE1:ExampleCorp-scan-1730591251"');
    expect(iam.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
    const wet = await run(['--role', ROLE, '--all', '--apply', '--json']);
    expect(wet.status).toBe(0);
    expect(JSON.parse(wet.stdout)).toMatchObject({ revoked: 'role', written: true, dryRun: false, policyName: 'roleguard-revocations' });
    const puts = iam.commandCalls(PutRolePolicyCommand);
    expect(puts.map((c) => [c.args[0].input.RoleName, c.args[0].input.PolicyName])).toEqual([['ExampleCorpAudit', 'roleguard-revocations']]);
    expect(JSON.parse(puts[0]!.args[0].input.PolicyDocument!).Statement[0].Condition.DateLessThan['aws:TokenIssueTime']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('refuses protected roles and bad input with a clear message, writing nothing', async () => {
    const before = iam.commandCalls(PutRolePolicyCommand).length;
    for (const [args, message] of [
      [['--role', 'arn:aws:iam::111122223333:role/BreakGlass', '--all', '--apply'], /refused: .*BreakGlass: it is listed in protectedRoleArns/],
      [['--role', 'arn:aws:iam::111122223333:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport', '--all', '--apply'], /service-linked role/],
      [['--role', 'arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123', '--all', '--apply'], /IAM Identity Center/],
      [['--role', ROLE, '--session', 'not-a-session', '--apply'], /not an assumed-role id/],
      [['--role', ROLE, '--apply'], /exactly one of --session/],
      [['--role', 'ExampleCorpAudit', '--all'], /not a role ARN/],
    ] as [string[], RegExp][]) {
      const result = await run(args);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(iam.commandCalls(PutRolePolicyCommand)).toHaveLength(before);
  });
});
