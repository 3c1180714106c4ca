import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildCli, envWithoutAws, runBuiltCli } from '../helpers/built-cli.js';
import { testEndpoint } from '../helpers/dynamo.js';
import { ROLE_ID, sessionDecision } from '../helpers/revocation.js';

// `roleguard revoke` as a user runs it on a machine with no AWS Region and no credentials: the built CLI, its own process.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
let dir: string;
let registry: string;
const store = () => ['--endpoint', testEndpoint(), '--table', `revoke-offline-${process.pid}`];

beforeAll(() => {
  buildCli();
  dir = mkdtempSync(join(tmpdir(), 'roleguard-revoke-offline-'));
  registry = join(dir, 'registry.yaml');
  writeFileSync(registry, 'roles: []\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('roleguard revoke without AWS access', () => {
  it('--dry-run shows the policy it would write, says it assumed no other inline policy, and records nothing', async () => {
    const session = `${ROLE_ID}:ExampleCorp-scan-1`;
    const dry = runBuiltCli(
      ['revoke', '--role', ROLE, '--session', session, '--dry-run', '--registry', registry, ...store()],
      envWithoutAws(),
    );
    expect(dry.stderr).toBe('');
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/^Dry run: would revoke session AROA3XFRBF23EXAMPLE1:ExampleCorp-scan-1/);
    expect(dry.stdout).toMatch(
      /no AWS access, so the role's policies were not read: this assumes the role has no other inline policy/,
    );
    expect(dry.stdout).toContain('Nothing was written');
    expect(dry.stdout).not.toMatch(/recorded|retries/i);
    const policy = JSON.parse(dry.stdout.slice(dry.stdout.indexOf('{'), dry.stdout.lastIndexOf('}') + 1));
    const before = new Date(Date.now() - 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
    // The session is denied for tokens issued before the decision; any other session of the role is untouched.
    expect(await sessionDecision(policy, 'ExampleCorp-scan-1', before)).toBe('Denied');
    expect(await sessionDecision(policy, 'other-session', before)).toBe('Allowed');

    const json = runBuiltCli(
      ['revoke', '--role', ROLE, '--all', '--dry-run', '--json', '--registry', registry, ...store()],
      envWithoutAws(),
    );
    expect(json.status).toBe(0);
    const summary = JSON.parse(json.stdout);
    expect(summary).toMatchObject({ dryRun: true, written: false, readFromIam: false, revoked: 'role' });
    expect(summary.assumption).toMatch(/no other inline policy/);
    expect(await sessionDecision(summary.policyDocument, 'any-session', before)).toBe('Denied');
  });

  it('without --dry-run says plainly what is missing (--region, --profile or aws sso login) and exits 1, no stack trace', () => {
    const result = runBuiltCli(
      ['revoke', '--role', ROLE, '--all', '--registry', registry, ...store()],
      envWithoutAws(),
    );
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^roleguard revoke: no AWS Region is configured: give --region/);
    expect(result.stderr).toMatch(/no AWS credentials were found: use --profile PROFILE, run `aws sso login`/);
    expect(result.stderr).not.toMatch(/\n\s+at /);

    // A Region alone is not enough: the credentials message stays.
    const withRegion = runBuiltCli(
      ['revoke', '--role', ROLE, '--all', '--region', 'eu-west-1', '--registry', registry, ...store()],
      envWithoutAws(),
    );
    expect(withRegion.status).toBe(1);
    expect(withRegion.stderr).not.toMatch(/Region/);
    expect(withRegion.stderr).toMatch(/no AWS credentials were found/);
  });
});
