import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testEndpoint } from '../helpers/dynamo.js';
import { EVENTS_DIR, ROOT } from '../helpers/fixtures.js';

// `roleguard roles import|list` and `roleguard audit`, run as a user runs them, against the test DynamoDB Local.
let dir: string;
const REGISTRY = join(EVENTS_DIR, 'registry.yaml');
const DETAILS = join(ROOT, 'examples', 'authorization-details.json');
const CURRENT_ID = 'ec-7Hq2vN9xK4pL8mR3';

function cli(args: string[]): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [join(ROOT, 'bin', 'roleguard.js'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { status: 0, stdout, stderr: '' };
  } catch (error) {
    return error as { status: number; stdout: string; stderr: string };
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'roleguard-roles-'));
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.js')], { cwd: ROOT });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('roleguard roles', () => {
  it('imports a registry file, lists it with masked IDs, and refuses an invalid one without touching the current one', () => {
    const store = ['--endpoint', testEndpoint(), '--table', `roles-${Date.now()}`];
    const imported = cli(['roles', 'import', '--registry', REGISTRY, ...store]);
    expect(imported.status).toBe(0);
    expect(imported.stdout).toMatch(/imported 1 guarded role into roles-\d+-registry/);

    const listed = cli(['roles', 'list', ...store]);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain('arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit');
    expect(listed.stdout).toContain('Example Corp');
    expect(listed.stdout).toMatch(/ec-7…#[0-9a-f]{8}/);
    expect(listed.stdout).not.toContain(CURRENT_ID);
    const json = JSON.parse(cli(['roles', 'list', ...store, '--json']).stdout) as {
      roles: { externalIds: { current: string } }[];
      serviceRoleArns: string[];
    };
    expect(json.roles[0]!.externalIds.current).toMatch(/^ec-7…#[0-9a-f]{8}$/);
    expect(json.serviceRoleArns).toEqual(['arn:aws:iam::111122223333:role/roleguard-*']);

    // An invalid registry is refused whole, naming the file, the role and the field; the registry in place stays.
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      readFileSync(REGISTRY, 'utf8')
        .replace('response: revoke', 'response: revoke\n    colour: blue')
        .replace('"999988887777"', '"9999"'),
    );
    const refused = cli(['roles', 'import', '--registry', bad, ...store]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(bad);
    expect(refused.stderr).toContain('roles[0] (arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit)');
    expect(refused.stderr).toContain('trustedAccounts[0]: not a 12-digit account id');
    expect(refused.stderr).toMatch(/colour/);
    expect(cli(['roles', 'list', ...store, '--json']).stdout).toBe(cli(['roles', 'list', ...store, '--json']).stdout);
    expect(JSON.parse(cli(['roles', 'list', ...store, '--json']).stdout)).toEqual(json);

    expect(cli(['roles', 'import', ...store]).status).toBe(2);
  });

  it('derives the registry from get-account-authorization-details, keeping what IAM does not know, and reports what it could not express', () => {
    const store = ['--endpoint', testEndpoint(), '--table', `derive-${Date.now()}`];
    expect(cli(['roles', 'import', '--registry', REGISTRY, ...store]).status).toBe(0);
    const derived = cli(['roles', 'import', '--authorization-details', DETAILS, ...store, '--json']);
    expect(derived.status).toBe(0);
    const result = JSON.parse(derived.stdout) as {
      roles: number;
      notes: { roleArn: string; outcome: string }[];
      notCrossAccount: number;
    };
    expect(result.roles).toBe(3);
    expect(result.notCrossAccount).toBe(4);
    expect(result.notes.map((n) => [n.roleArn.split('/').pop(), n.outcome])).toEqual([
      // Its only check is StringEqualsIfExists: the ID it names is registered, so the role is watched, with the caveat.
      ['AnyCompanyMonitoring', 'registered'],
      ['LegacyBackupVendor', 'skipped'],
      ['CostToolReadOnly', 'registered'],
    ]);
    const registry = JSON.parse(cli(['roles', 'list', ...store, '--json']).stdout) as {
      serviceRoleArns: string[];
      roles: {
        roleArn: string;
        response: string;
        rotation: unknown;
        externalIds: { retired: string[]; pending: string | null };
      }[];
    };
    // Kept from the registry file: the service's principals, the response, the rotation and the retired IDs.
    expect(registry.serviceRoleArns).toEqual(['arn:aws:iam::111122223333:role/roleguard-*']);
    const example = registry.roles.find((r) => r.roleArn.endsWith('/ExampleCorpAudit'))!;
    expect(example).toMatchObject({ response: 'revoke', rotation: { everyDays: 90, graceDays: 7 } });
    expect(example.externalIds.retired).toHaveLength(1);
    expect(registry.roles.find((r) => r.roleArn.endsWith('/CostToolReadOnly'))!.externalIds.pending).toMatch(/^ct-n…#/);
  });
});

describe('roleguard audit', () => {
  it('passes a role whose trust policy matches the registry (exit 0), offline from the IAM export', () => {
    const result = cli(['audit', '--registry', REGISTRY, '--authorization-details', DETAILS]);
    expect(result.stdout).toContain('1 guarded roles; 1 ok, 0 with problems');
    expect(result.status).toBe(0);
  });

  it('reports a bypassing statement, a weak condition and IDs that differ from the registry (exit 3), never showing a full ID', () => {
    const registry = join(dir, 'audit.yaml');
    writeFileSync(
      registry,
      `roles:
  - roleArn: arn:aws:iam::111122223333:role/CostToolReadOnly
    vendor: CostTool
    trustedAccounts: ["222233334444"]
    externalIds: { current: "ct-new-4Lm9Xw", retired: ["ct-old-8dK2pQ"] }
  - roleArn: arn:aws:iam::111122223333:role/vendors/AnyCompanyMonitoring
    vendor: AnyCompany
    trustedAccounts: ["444455556666"]
    externalIds: { current: "anyco-Q3f8Lm2Rt9" }
  - roleArn: arn:aws:iam::111122223333:role/Deleted
    vendor: Gone
    trustedAccounts: ["222233334444"]
    externalIds: { current: "gone-123456" }
`,
    );
    const result = cli(['audit', '--registry', registry, '--authorization-details', DETAILS, '--json']);
    expect(result.status).toBe(3);
    const report = JSON.parse(result.stdout) as {
      summary: Record<string, number>;
      roles: { roleArn: string; status: string; problems: { kind: string; severity: string }[] }[];
    };
    const kinds = (name: string) =>
      report.roles.find((r) => r.roleArn.endsWith(`/${name}`))!.problems.map((p) => [p.kind, p.severity]);
    expect(kinds('CostToolReadOnly')).toEqual([
      ['condition-bypass', 'critical'],
      ['external-ids-differ', 'high'],
    ]);
    // The registered ID is named by the weak condition, so it is accepted: the weakness is reported, not a mismatch.
    expect(kinds('AnyCompanyMonitoring')).toEqual([
      ['weak-external-id-condition', 'high'],
      ['trusted-accounts-differ', 'high'],
    ]);
    expect(report.roles.find((r) => r.roleArn.endsWith('/Deleted'))!.status).toBe('not-found');
    expect(report.summary).toMatchObject({ roles: 3, ok: 0, withProblems: 2, notFound: 1 });
    for (const id of ['ct-new-4Lm9Xw', 'ct-old-8dK2pQ', 'anyco-Q3f8Lm2Rt9']) expect(result.stdout).not.toContain(id);
    const readable = cli(['audit', '--registry', registry, '--authorization-details', DETAILS]);
    expect(readable.status).toBe(3);
    expect(readable.stdout).toMatch(/retired ID ct-o…#[0-9a-f]{8} is still accepted/);
  });
});
