import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { buildCli, runBuiltCli } from '../helpers/built-cli.js';
import { testEndpoint } from '../helpers/dynamo.js';
import { EVENTS_DIR, ROOT } from '../helpers/fixtures.js';

// `roleguard roles import|list` and `roleguard audit`, run as a user runs them, against the test DynamoDB Local.
let dir: string;
const REGISTRY = join(EVENTS_DIR, 'registry.yaml');
const DETAILS = join(ROOT, 'examples', 'authorization-details.json');
const CURRENT_ID = 'ec-7Hq2vN9xK4pL8mR3';

const cli = (args: string[]) => runBuiltCli(args);

/** The built CLI run without blocking this process, so a proxy in it can serve the CLI's requests. */
function cliAsync(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'roleguard.js'), ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

/**
 * A proxy in front of DynamoDB Local that runs `meanwhile` once, just before forwarding the request of the command
 * using it that `at` picks (by its X-Amz-Target operation): another edit lands between that command's read and its write.
 * `afterRead` is the first request after the command read the registry's items (a Query); `write` its first BatchWriteItem.
 */
async function interleavingProxy(
  at: 'afterRead' | 'write',
  meanwhile: () => void,
): Promise<{ url: string; close(): void }> {
  const target = new URL(testEndpoint());
  let fired = false;
  let read = false;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target']).split('.').pop();
      if (!fired && (at === 'write' ? operation === 'BatchWriteItem' : read)) {
        fired = true;
        meanwhile();
      }
      if (operation === 'Query') read = true;
      const upstream = request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 500, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', (e) => res.destroy(e));
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => server.close(),
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'roleguard-roles-'));
  buildCli();
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
    // The table shows the short role name (unambiguous here); --json has the full ARN.
    expect(listed.stdout).toMatch(/^ExampleCorpAudit {2}/m);
    expect(listed.stdout).toContain('Example Corp');
    expect(listed.stdout).toMatch(/ec-7…#[0-9a-f]{8}/);
    expect(listed.stdout).not.toContain(CURRENT_ID);
    const json = JSON.parse(cli(['roles', 'list', ...store, '--json']).stdout) as {
      roles: { externalIds: { current: string } }[];
      serviceRoleArns: string[];
    };
    expect(json.roles[0]!.externalIds.current).toMatch(/^ec-7…#[0-9a-f]{8}$/);
    expect(json.serviceRoleArns).toEqual(['arn:aws:iam::111122223333:role/roleguard-*']);
    expect(json.roles).toEqual([
      expect.objectContaining({ roleArn: 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit' }),
    ]);

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
    // LegacyBackupVendor requires no external ID at all: it is registered in watch mode (externalIds: none).
    expect(result.roles).toBe(4);
    expect(result.notCrossAccount).toBe(4);
    expect(result.notes.map((n) => [n.roleArn.split('/').pop(), n.outcome])).toEqual([
      // Its only check is StringEqualsIfExists: the ID it names is registered, so the role is watched, with the caveat.
      ['AnyCompanyMonitoring', 'registered'],
      ['LegacyBackupVendor', 'watch'],
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

const OTHER = 'arn:aws:iam::111122223333:role/vendors/AnyCompanyMonitoring';
const LEGACY = 'arn:aws:iam::111122223333:role/LegacyBackupVendor';
const EXAMPLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const otherRole = `  - roleArn: ${OTHER}
    vendor: AnyCompany
    trustedAccounts: ["444455556666"]
    externalIds: { current: "anyco-Q3f8Lm2Rt9" }
`;

describe('roleguard roles import: the diff, and --replace', () => {
  it('prints what is added, removed and changed; refuses to remove roles without --replace, naming them; --dry-run only shows', () => {
    const store = ['--endpoint', testEndpoint(), '--table', `diff-${Date.now()}`];
    expect(cli(['roles', 'import', '--registry', REGISTRY, ...store]).status).toBe(0);
    const before = cli(['roles', 'list', ...store, '--json']).stdout;

    // A file that lists another vendor and not ExampleCorpAudit would remove it: refused, nothing written.
    const swap = join(dir, 'swap.yaml');
    writeFileSync(swap, `roles:\n${otherRole}`);
    const refused = cli(['roles', 'import', '--registry', swap, ...store]);
    expect(refused.status).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(
      `refused: this import would remove 1 registered role (${EXAMPLE}); give --replace`,
    );
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    expect(cli(['roles', 'list', ...store, '--json']).stdout).toBe(before);
    // With --json the refusal is a JSON document on stdout too, with the diff it was based on.
    const refusedJson = cli(['roles', 'import', '--registry', swap, ...store, '--json']);
    expect(refusedJson.status).toBe(2);
    expect(JSON.parse(refusedJson.stdout)).toMatchObject({
      imported: false,
      version: null,
      refused: expect.stringContaining(`refused: this import would remove 1 registered role (${EXAMPLE})`),
      diff: { added: [OTHER], removed: [EXAMPLE] },
    });
    expect(cli(['roles', 'list', ...store, '--json']).stdout).toBe(before);

    const dry = cli(['roles', 'import', '--registry', swap, ...store, '--dry-run']);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain('registry changes (1 added, 1 removed, 0 changed, 0 unchanged):');
    expect(dry.stdout).toContain(`  + ${OTHER} (AnyCompany)`);
    expect(dry.stdout).toContain(`  - ${EXAMPLE} (Example Corp)`);
    expect(dry.stdout).toMatch(/dry run: the import would be refused/);
    expect(dry.stdout).toContain('(dry run: nothing written)');
    expect(cli(['roles', 'list', ...store, '--json']).stdout).toBe(before);

    const replaced = cli(['roles', 'import', '--registry', swap, ...store, '--replace', '--json']);
    expect(replaced.status).toBe(0);
    expect(JSON.parse(replaced.stdout).diff).toMatchObject({ added: [OTHER], removed: [EXAMPLE], changed: [] });
    const after = JSON.parse(cli(['roles', 'list', ...store, '--json']).stdout) as { roles: { roleArn: string }[] };
    expect(after.roles.map((r) => r.roleArn)).toEqual([OTHER]);

    // A changed entry is named with the fields that changed, never with an external ID.
    writeFileSync(
      swap,
      `roles:\n${otherRole.replace('anyco-Q3f8Lm2Rt9', 'anyco-NEW-77aa')}    response: alert\n    dryRun: true\n`,
    );
    const changed = cli(['roles', 'import', '--registry', swap, ...store]);
    expect(changed.status).toBe(0);
    expect(changed.stdout).toContain(`  ~ ${OTHER} (AnyCompany): externalIds, dryRun`);
    expect(changed.stdout).not.toContain('anyco-NEW-77aa');
  });

  it('roles add FILE onboards one vendor, roles remove ARN offboards it; both refuse what does not fit', () => {
    const store = ['--endpoint', testEndpoint(), '--table', `edit-${Date.now()}`];
    expect(cli(['roles', 'import', '--registry', REGISTRY, ...store]).status).toBe(0);
    const one = join(dir, 'one.yaml');
    writeFileSync(one, otherRole.replace(/^ {2}- /, '').replace(/^ {4}/gm, ''));
    const dry = cli(['roles', 'add', one, ...store, '--dry-run']);
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain(`  + ${OTHER} (AnyCompany)`);
    expect(dry.stdout).toContain('dry run: nothing written');
    expect(JSON.parse(cli(['roles', 'list', ...store, '--json']).stdout).roles).toHaveLength(1);

    const added = cli(['roles', 'add', one, ...store]);
    expect(added.status).toBe(0);
    expect(added.stdout).toMatch(/registry changes \(1 added, 0 removed, 0 changed, 1 unchanged\)/);
    const listed = JSON.parse(cli(['roles', 'list', ...store, '--json']).stdout) as { roles: { roleArn: string }[] };
    expect(listed.roles.map((r) => r.roleArn).sort()).toEqual([OTHER, EXAMPLE].sort());

    const again = cli(['roles', 'add', one, ...store]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain(`already registered: ${OTHER}`);

    const removed = cli(['roles', 'remove', OTHER, ...store]);
    expect(removed.status).toBe(0);
    expect(removed.stdout).toContain(`  - ${OTHER} (AnyCompany)`);
    const gone = cli(['roles', 'remove', OTHER, ...store]);
    expect(gone.status).toBe(2);
    expect(gone.stderr).toContain(`not registered: ${OTHER}`);
    expect(cli(['roles', 'remove', 'ExampleCorpAudit', ...store]).status).toBe(2);
    const usage = cli(['roles', 'add', ...store]);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/missing required argument 'file'/);
    const invalid = join(dir, 'invalid-one.yaml');
    writeFileSync(
      invalid,
      `roleArn: ${OTHER}\nvendor: X\ntrustedAccounts: ["12"]\nexternalIds: { current: "anyco-Q3f8Lm2Rt9" }\n`,
    );
    const bad = cli(['roles', 'add', invalid, ...store]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('trustedAccounts[0]: not a 12-digit account id');
    expect(JSON.parse(cli(['roles', 'list', ...store, '--json']).stdout).roles).toHaveLength(1);
  });

  it('an edit that another edit overtook between its read and its write is refused (exit 1), never silently undoing it', async () => {
    const table = `race-${Date.now()}`;
    const direct = ['--endpoint', testEndpoint(), '--table', table];
    expect(cli(['roles', 'import', '--registry', REGISTRY, ...direct]).status).toBe(0);
    const one = join(dir, 'race-one.yaml');
    writeFileSync(one, otherRole.replace(/^ {2}- /, '').replace(/^ {4}/gm, ''));
    const legacy = join(dir, 'race-legacy.yaml');
    writeFileSync(
      legacy,
      `roleArn: ${LEGACY}\nvendor: Legacy Backup\ntrustedAccounts: ["777788889999"]\nexternalIds: none\n`,
    );
    const roles = () =>
      (JSON.parse(cli(['roles', 'list', ...direct, '--json']).stdout) as { roles: { roleArn: string }[] }).roles
        .map((r) => r.roleArn)
        .sort();

    // roles add (AnyCompany) reads the registry; right after, roles add (LegacyBackupVendor) lands.
    let meanwhile: ReturnType<typeof cli> | undefined;
    const proxy = await interleavingProxy('afterRead', () => {
      meanwhile = cli(['roles', 'add', legacy, ...direct]);
    });
    try {
      const overtaken = await cliAsync(['roles', 'add', one, '--endpoint', proxy.url, '--table', table]);
      expect(meanwhile?.status).toBe(0);
      expect(overtaken.stderr).toContain(
        'roleguard roles add: the registry changed since it was read; nothing was written; run the command again',
      );
      expect(overtaken.status).toBe(1);
      expect(roles()).toEqual([EXAMPLE, LEGACY].sort());
    } finally {
      proxy.close();
    }

    // roles import --replace removes LegacyBackupVendor, as its diff said; a role added while it writes its version
    // (after it checked the pointer) must not go unseen either.
    const both = join(dir, 'race-both.yaml');
    writeFileSync(both, `${readFileSync(REGISTRY, 'utf8')}${otherRole}`);
    const newcomer = join(dir, 'race-new.yaml');
    writeFileSync(newcomer, readFileSync(legacy, 'utf8').replaceAll('LegacyBackupVendor', 'NewVendor'));
    const proxy2 = await interleavingProxy('write', () => {
      meanwhile = cli(['roles', 'add', newcomer, ...direct]);
    });
    try {
      const dry = cli(['roles', 'import', '--registry', both, '--replace', '--dry-run', ...direct]);
      expect(dry.stdout).toContain(`  - ${LEGACY}`);
      expect(dry.stdout).toContain('1 removed');
      const imported = await cliAsync([
        'roles',
        'import',
        '--registry',
        both,
        '--replace',
        '--json',
        '--endpoint',
        proxy2.url,
        '--table',
        table,
      ]);
      expect(meanwhile?.status).toBe(0);
      expect(imported.stderr).toContain('roleguard roles import: the registry changed since it was read');
      expect(imported.status).toBe(1);
      expect(JSON.parse(imported.stdout)).toMatchObject({
        imported: false,
        version: null,
        error: expect.stringContaining('the registry changed since it was read'),
      });
      expect(roles()).toEqual([EXAMPLE, LEGACY, LEGACY.replace('LegacyBackupVendor', 'NewVendor')].sort());
    } finally {
      proxy2.close();
    }

    // Run again, the edit sees the registry as it is and succeeds.
    expect(cli(['roles', 'add', one, ...direct]).status).toBe(0);
    expect(roles()).toContain(OTHER);
  });

  it('registers a role with externalIds: none (watch mode), lists it as such, and keeps it through the store', () => {
    const store = ['--endpoint', testEndpoint(), '--table', `watch-${Date.now()}`];
    const watch = join(dir, 'watch.yaml');
    writeFileSync(
      watch,
      `roles:\n  - roleArn: ${LEGACY}\n    vendor: Legacy Backup\n    trustedAccounts: ["777788889999"]\n    externalIds: none\n`,
    );
    const imported = cli(['roles', 'import', '--registry', watch, ...store]);
    expect(imported.status).toBe(0);
    expect(imported.stdout).toContain(`  + ${LEGACY} (Legacy Backup, watch mode)`);
    const listed = cli(['roles', 'list', ...store]);
    expect(listed.stdout).toContain('none (watch mode)');
    const json = JSON.parse(cli(['roles', 'list', ...store, '--json']).stdout) as { roles: unknown[] };
    expect(json.roles).toEqual([expect.objectContaining({ roleArn: LEGACY, externalIds: 'none', response: 'alert' })]);
    // Imported again unchanged: the stored form reads back as the same registry.
    expect(cli(['roles', 'import', '--registry', watch, ...store]).stdout).toContain('no change to the registry');
    // There is no external ID to rotate: a rotation is refused, with the reason, before IAM is read.
    const rotate = cli(['rotate', '--role', LEGACY, '--start', ...store]);
    expect(rotate.status).toBe(2);
    expect(rotate.stderr).toContain(
      `roleguard rotate: ${LEGACY} is registered in watch mode (externalIds: none): its trust policy requires no external ID, so there is none to rotate`,
    );
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
    // Wide enough that no detail folds, so the sentence is on one line.
    const readable = runBuiltCli(['audit', '--registry', registry, '--authorization-details', DETAILS], {
      ...process.env,
      COLUMNS: '250',
    });
    expect(readable.status).toBe(3);
    expect(readable.stdout).toMatch(/retired ID ct-o…#[0-9a-f]{8} is still accepted/);

    // In 80 columns every line fits; the reason folds onto more lines but is all there, and the masked IDs are whole.
    const narrow = runBuiltCli(['audit', '--registry', registry, '--authorization-details', DETAILS], {
      ...process.env,
      COLUMNS: '80',
    });
    expect(narrow.status).toBe(3);
    const table = narrow.stdout.split('\n').slice(2);
    for (const line of table) expect(line.length).toBeLessThanOrEqual(80);
    expect(table.join(' ')).not.toContain('…  ');
    expect(narrow.stdout).toMatch(/ct-o…#[0-9a-f]{8}/);
    expect(narrow.stdout).toMatch(/^CostToolReadOnly /m);
    const words = (text: string) => text.replace(/\s+/g, ' ');
    expect(words(narrow.stdout)).toContain('bypassing the condition that other statements require');
    expect(words(narrow.stdout)).toContain('retired ID ct-o…#');
  });

  it('reports a role in watch mode (externalIds: none): its trust policy requires no external ID', () => {
    const watch = join(dir, 'audit-watch.yaml');
    writeFileSync(
      watch,
      `roles:\n  - roleArn: ${LEGACY}\n    vendor: Legacy Backup\n    trustedAccounts: ["777788889999"]\n    externalIds: none\n`,
    );
    const result = cli(['audit', '--registry', watch, '--authorization-details', DETAILS, '--json']);
    expect(result.status).toBe(3);
    const report = JSON.parse(result.stdout) as {
      summary: Record<string, number>;
      roles: { status: string; watchMode?: boolean; problems: { kind: string; severity: string }[] }[];
    };
    expect(report.roles[0]).toMatchObject({ status: 'problems', watchMode: true });
    expect(report.roles[0]!.problems.map((p) => [p.kind, p.severity])).toEqual([['no-external-id', 'critical']]);
    expect(report.summary).toMatchObject({ roles: 1, withProblems: 1, watchMode: 1 });
    const text = runBuiltCli(['audit', '--registry', watch, '--authorization-details', DETAILS], {
      ...process.env,
      COLUMNS: '250',
    });
    expect(text.stdout).toContain('1 in watch mode (externalIds: none');
    expect(text.stdout).toMatch(/^LegacyBackupVendor +Legacy Backup \(watch mode\) +critical +no-external-id/m);
  });

  it('--all lists every role another account can assume and says which are not registered (exit 3)', () => {
    const result = cli(['audit', '--registry', REGISTRY, '--authorization-details', DETAILS, '--all', '--json']);
    expect(result.status).toBe(3);
    const report = JSON.parse(result.stdout) as {
      summary: Record<string, number>;
      roles: { roleArn: string; status: string; trustedAccounts?: string[] }[];
    };
    expect(report.roles.map((r) => [r.roleArn.split('/').pop(), r.status])).toEqual([
      ['ExampleCorpAudit', 'ok'],
      ['AnyCompanyMonitoring', 'not-registered'],
      ['LegacyBackupVendor', 'not-registered'],
      ['CostToolReadOnly', 'not-registered'],
    ]);
    expect(report.roles.find((r) => r.roleArn === LEGACY)!.trustedAccounts).toEqual(['777788889999']);
    expect(report.summary).toMatchObject({ roles: 1, ok: 1, notRegistered: 3 });
    const text = cli(['audit', '--registry', REGISTRY, '--authorization-details', DETAILS, '--all']);
    expect(text.stdout).toContain('3 roles another account can assume are not registered');
    expect(text.stdout).toMatch(/^LegacyBackupVendor +not registered +critical +no-external-id/m);
    // Without --all, the same audit passes: only registered roles are checked.
    expect(cli(['audit', '--registry', REGISTRY, '--authorization-details', DETAILS]).status).toBe(0);
    const usage = cli(['audit', '--registry', REGISTRY, '--all']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('--all needs --authorization-details FILE');
  });
});
