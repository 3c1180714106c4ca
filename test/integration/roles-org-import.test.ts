import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { createDocumentClient } from '../../lib/deps.js';
import { createRegistryStore } from '../../lib/registry/index.js';
import { runCli } from '../helpers/cli.js';
import { testEndpoint } from '../helpers/dynamo.js';
import { emulateOrgIam, HUB_KEY, type OrgIam } from '../helpers/org-iam.js';

// `roleguard roles import --org` and `--account`, in-process: the registry on DynamoDB Local, STS, Organizations and
// each account's IAM emulated at the SDK (a client acts in the account of its credentials).
const A = '111111111111';
const B = '222222222222';
const C = '333333333333';
const D = '444444444444';
const VENDOR = '999988887777';
const SPOKE = 'roleguard-prod-spoke';
const arn = (account: string, name = 'ExampleCorpAudit') => `arn:aws:iam::${account}:role/${name}`;

/** A role of IAM's export, trusting `principal` with `externalId` (none: no condition). */
const detail = (
  account: string,
  name: string,
  externalId: string | null,
  principal = `arn:aws:iam::${VENDOR}:root`,
) => ({
  RoleName: name,
  Arn: arn(account, name),
  Path: '/',
  AssumeRolePolicyDocument: {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: principal },
        Action: 'sts:AssumeRole',
        ...(externalId ? { Condition: { StringEquals: { 'sts:ExternalId': externalId } } } : {}),
      },
    ],
  },
});

let dir: string;
let org: OrgIam;
const organizations = mockClient(OrganizationsClient);
const savedEnv = { ...process.env };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'roleguard-org-import-'));
  org = emulateOrgIam(A, {});
  Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: HUB_KEY, AWS_SECRET_ACCESS_KEY: 'secret' });
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
});
afterAll(() => {
  org.restore();
  organizations.restore();
  process.env = savedEnv;
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  org.reset();
  organizations.reset();
  organizations.on(ListAccountsCommand).resolves({
    Accounts: [
      { Id: A, State: 'ACTIVE' },
      { Id: B, State: 'ACTIVE' },
      { Id: C, State: 'ACTIVE' },
      { Id: D, State: 'SUSPENDED' },
    ],
  });
  // What IAM holds now: new IDs in A and B, and each member account's spoke role (it trusts the hub account).
  org.details.set(A, [detail(A, 'ExampleCorpAudit', 'ec-A-new-7Hq2vN9xK4')]);
  org.details.set(B, [
    detail(B, 'ExampleCorpAudit', 'ec-B-new-3mR8xQ2wP5'),
    detail(B, 'NewVendorRole', 'nv-B-5tY7uI9oP1'),
    detail(B, SPOKE, null, `arn:aws:iam::${A}:root`),
  ]);
  org.details.set(C, [detail(C, 'BillingReader', 'bv-C-changed-000001')]);
});

/** A fresh registry table holding ExampleCorpAudit in A and B (same name, different IDs) and BillingReader in C. */
async function registered(): Promise<string[]> {
  const store = ['--endpoint', testEndpoint(), '--table', `org-import-${Math.random().toString(36).slice(2)}`];
  const file = join(dir, 'registry.yaml');
  writeFileSync(
    file,
    `serviceRoleArns: []
protectedRoleArns: []
roles:
  - { roleArn: "${arn(A)}", vendor: Example Corp, trustedAccounts: ["${VENDOR}"], externalIds: { current: "ec-A-old-1234567" }, response: alert }
  - { roleArn: "${arn(B)}", vendor: Example Corp (B), trustedAccounts: ["${VENDOR}"], externalIds: { current: "ec-B-old-1234567" }, response: revoke }
  - { roleArn: "${arn(C, 'BillingReader')}", vendor: Billing, trustedAccounts: ["${VENDOR}"], externalIds: { current: "bv-C-old-1234567" }, response: alert }
`,
  );
  const imported = await runCli(['roles', 'import', '--registry', file, ...store]);
  expect(imported.status).toBe(0);
  return store;
}

async function roles(store: string[]): Promise<Record<string, { vendor: string; current: string; response: string }>> {
  // The CLI reaches DynamoDB Local with the environment's credentials (DynamoDB Local keeps tables per key).
  const doc = createDocumentClient({
    endpoint: testEndpoint(),
    region: 'us-east-1',
    credentials: { accessKeyId: HUB_KEY, secretAccessKey: 'secret' },
  });
  try {
    const registry = await createRegistryStore(doc, `${store[3]}-registry`).load();
    return Object.fromEntries(
      registry.roles.map((r) => [
        r.roleArn,
        { vendor: r.vendor, current: r.externalIds.current ?? '', response: r.response },
      ]),
    );
  } finally {
    doc.destroy();
  }
}

const assumes = () => org.sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input);

describe('roles import from the accounts of an organization', () => {
  it('--org reads every ACTIVE account, the others through their spoke; a failed account keeps its roles', async () => {
    const store = await registered();
    const before = await roles(store);
    org.deniedSpokes.add(C);
    const out = await runCli(['roles', 'import', '--org', '--spoke-role', SPOKE, ...store]);
    expect(out.stderr).toContain(`accounts: 2 read (${A}: 1 role, ${B}: 2 roles), 1 failed`);
    expect(out.stderr).toContain(
      `failed: account ${C}: cannot act in account ${C}: AssumeRole of arn:aws:iam::${C}:role/${SPOKE} failed: the role is missing, or does not trust these credentials: ${SPOKE} trusts roleguard's hub roles only`,
    );
    expect(out.status).toBe(1);
    // The hub account is read with the own credentials; B and C through the spoke; the suspended D not at all.
    expect(assumes()).toEqual([
      { RoleArn: `arn:aws:iam::${B}:role/${SPOKE}`, RoleSessionName: 'roleguard-import' },
      { RoleArn: `arn:aws:iam::${C}:role/${SPOKE}`, RoleSessionName: 'roleguard-import' },
    ]);
    const after = await roles(store);
    expect(Object.keys(after).sort()).toEqual([arn(A), arn(B), arn(B, 'NewVendorRole'), arn(C, 'BillingReader')]);
    // Same-named roles of A and B each took their own account's ID; what IAM does not know was kept.
    expect(after[arn(A)]).toEqual({ vendor: 'Example Corp', current: 'ec-A-new-7Hq2vN9xK4', response: 'alert' });
    expect(after[arn(B)]).toEqual({ vendor: 'Example Corp (B)', current: 'ec-B-new-3mR8xQ2wP5', response: 'revoke' });
    // C could not be read: its role is as it was (not deleted, not changed).
    expect(after[arn(C, 'BillingReader')]).toEqual(before[arn(C, 'BillingReader')]);
    // roleguard's own spoke role (it trusts the hub account without an external ID) is never registered.
    expect(out.stderr).toContain(`not registered: ${arn(B, SPOKE)}: it is one of roleguard's own roles`);
  });

  it('through the read-only roleguard-<stage>-spoke-read (the default with --stage), a denied assume says how an operator gets in', async () => {
    const store = await registered();
    org.deniedSpokes.add(B);
    const out = await runCli([
      'roles',
      'import',
      '--account',
      B,
      '--spoke-role',
      'roleguard-prod-spoke-read',
      ...store,
    ]);
    expect(out.status).toBe(1);
    expect(assumes()).toEqual([
      { RoleArn: `arn:aws:iam::${B}:role/roleguard-prod-spoke-read`, RoleSessionName: 'roleguard-import' },
    ]);
    expect(out.stderr).toContain(
      `failed: account ${B}: cannot act in account ${B}: AssumeRole of arn:aws:iam::${B}:role/roleguard-prod-spoke-read failed: the role is missing, or does not trust these credentials: roleguard-prod-spoke-read trusts roleguard's hub roles and the principals named in the global spoke's OperatorPrincipalArns parameter`,
    );
    expect(out.stderr).not.toContain('does not trust this hub');
    org.deniedSpokes.clear();
  });

  it("--org skips the organization's own roles (well-known names, or trusting only its accounts): no watch-mode vendor roles", async () => {
    const store = await registered();
    org.details.set(B, [
      detail(B, 'ExampleCorpAudit', 'ec-B-new-3mR8xQ2wP5'),
      detail(B, 'OrganizationAccountAccessRole', null, `arn:aws:iam::${A}:root`),
      detail(B, 'AWSControlTowerExecution', null, `arn:aws:iam::${A}:root`),
      detail(B, 'stacksets-exec-0123456789abcdef0123456789abcdef', null, `arn:aws:iam::${A}:root`),
      detail(B, 'AWSCloudFormationStackSetExecutionRole', null, `arn:aws:iam::${A}:root`),
      detail(B, 'DeployFromC', null, `arn:aws:iam::${C}:role/ci`),
      // A vendor role without an external ID is still registered in watch mode.
      detail(B, 'LegacyVendor', null),
    ]);
    const out = await runCli(['roles', 'import', '--org', '--spoke-role', SPOKE, ...store]);
    expect(out.status).toBe(0);
    const after = await roles(store);
    for (const name of [
      'OrganizationAccountAccessRole',
      'AWSControlTowerExecution',
      'stacksets-exec-0123456789abcdef0123456789abcdef',
      'AWSCloudFormationStackSetExecutionRole',
      'DeployFromC',
    ]) {
      expect(after[arn(B, name)]).toBeUndefined();
      expect(out.stderr).toContain(`not registered: ${arn(B, name)}: it`);
    }
    expect(out.stderr).toContain(
      `not registered: ${arn(B, 'DeployFromC')}: it trusts only accounts of the organization (${C})`,
    );
    expect(after[arn(B, 'LegacyVendor')]).toBeDefined();
    expect(out.stderr).toContain('5 organization-internal roles were skipped');
  });

  it("--account B replaces only B's roles; A and C stay as registered, and only B is read", async () => {
    const store = await registered();
    const before = await roles(store);
    const out = await runCli(['roles', 'import', '--account', B, '--spoke-role', SPOKE, ...store]);
    expect(out.status).toBe(0);
    expect(out.stderr).toContain(`accounts: 1 read (${B}: 2 roles), 0 failed`);
    const after = await roles(store);
    expect(after[arn(A)]).toEqual(before[arn(A)]);
    expect(after[arn(C, 'BillingReader')]).toEqual(before[arn(C, 'BillingReader')]);
    expect(after[arn(B)]?.current).toBe('ec-B-new-3mR8xQ2wP5');
    expect(after[arn(B, 'NewVendorRole')]?.current).toBe('nv-B-5tY7uI9oP1');
    expect(new Set(org.calls.map((c) => c.account))).toEqual(new Set([B]));
  });

  it("--account A with A's export works offline; an export of another account's roles is refused for that account", async () => {
    const store = await registered();
    const before = await roles(store);
    const file = join(dir, 'a.json');
    writeFileSync(file, JSON.stringify({ RoleDetailList: [detail(A, 'ExampleCorpAudit', 'ec-A-file-99887766')] }));
    const out = await runCli(['roles', 'import', '--account', A, '--authorization-details', file, ...store]);
    expect(out.status).toBe(0);
    const after = await roles(store);
    expect(after[arn(A)]?.current).toBe('ec-A-file-99887766');
    expect(after[arn(B)]).toEqual(before[arn(B)]);
    expect(org.calls).toEqual([]);
    const wrong = await runCli(['roles', 'import', '--account', B, '--authorization-details', file, ...store]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain(
      `failed: account ${B}: the authorization details list ${arn(A)}, a role of another account`,
    );
    expect(await roles(store)).toEqual(after);
  });

  it('bad combinations are refused with a clear message', async () => {
    const refused = async (args: string[], message: string) => {
      const out = await runCli(['roles', 'import', ...args, '--endpoint', testEndpoint()]);
      expect(out.status).toBe(2);
      expect(out.stderr).toContain(message);
    };
    await refused(['--org', '--account', B], '--org reads every account live');
    await refused(['--account', '12345'], '--account must be a 12-digit account id');
    await refused(['--registry', 'x.yaml', '--org'], 'give exactly one of');
  });
});
