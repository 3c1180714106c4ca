import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { createRegistryStore, type Registry } from '../lib/registry/index.js';
import {
  type AuditReport,
  auditRegistry,
  iamTrustPolicyReader,
  type RoleAudit,
  type TrustPolicyReader,
  withUnregisteredRoles,
} from '../lib/trust/index.js';
import { iamClient } from './aws-access.js';
import { EXIT } from './exit-codes.js';
import { addStoreOptions, openLocalStore, type StoreFlags } from './local-store.js';
import { readRegistryFile } from './registry-file.js';
import { renderTable, shortRoleNames } from './table.js';

interface AuditFlags extends StoreFlags {
  registry?: string;
  authorizationDetails?: string;
  all?: boolean;
  json?: boolean;
}

/** `roleguard audit`: check the trust policies of the registered roles. */
export function registerAudit(program: Command): void {
  const command = program
    .command('audit')
    .description('Check the trust policy of every registered role: external ID required, no bypass, IDs as registered')
    .option('--registry <file>', 'registry file (YAML or JSON); default: the registry table')
    .option(
      '--authorization-details <file>',
      'read trust policies from `aws iam get-account-authorization-details` output instead of IAM',
    )
    .option(
      '--all',
      'with --authorization-details: also list every role another account can assume, and say which are not registered',
    )
    .option('--json', 'print the audit as one JSON document');
  addStoreOptions(command)
    .addHelpText(
      'after',
      `
Examples:
  roleguard audit --registry registry.yaml --authorization-details auth.json     (offline)
  roleguard audit --stage prod --region eu-west-1                                (live: IAM GetRole)
  roleguard audit --data-dir ~/.roleguard --authorization-details auth.json --all

A role registered with externalIds: none (watch mode) is reported: its trust policy requires no external ID.
With --all, every role of the export that another account can assume is listed; one that is not registered
counts as a problem.

Without --authorization-details, trust policies are read with iam:GetRole using the standard AWS
credentials (and --profile/--region). The audit reads only; it changes nothing.
Exit status: 0 no problem found, 3 problems found, 2 bad arguments or registry, 1 could not run (no AWS access).`,
    )
    .action(async (flags: AuditFlags) => {
      process.exitCode = await audit(flags);
    });
}

async function audit(flags: AuditFlags): Promise<number> {
  const fail = (message: string, code: number = EXIT.usage) => {
    process.stderr.write(`roleguard audit: ${message}\n`);
    return code;
  };
  if (flags.all && !flags.authorizationDetails)
    return fail('--all needs --authorization-details FILE: the export is what lists every role of the account');
  let registry: Registry;
  if (flags.registry) {
    const loaded = await readRegistryFile(flags.registry);
    if ('error' in loaded) return fail(loaded.error);
    registry = loaded.registry;
  } else {
    if (!flags.stage && !flags.endpoint && !flags.dataDir && !process.env.ROLEGUARD_DATA_DIR?.trim())
      return fail('give --registry FILE, or --stage, --endpoint or --data-dir to read the registry table');
    const store = await openLocalStore(flags);
    try {
      registry = await createRegistryStore(store.dynamo, store.tables.registry).load();
    } finally {
      await store.close();
    }
  }
  let read: TrustPolicyReader;
  let entries: { arn: string; document: unknown }[] = [];
  if (flags.authorizationDetails) {
    const loaded = await authorizationDetailsReader(flags.authorizationDetails);
    if ('error' in loaded) return fail(loaded.error);
    read = loaded.read;
    entries = loaded.entries;
  } else {
    const aws = await iamClient(flags, 5);
    if ('problem' in aws) return fail(aws.problem, EXIT.failed);
    read = iamTrustPolicyReader(aws.iam);
  }
  let report = await auditRegistry(registry, read);
  if (flags.all) report = withUnregisteredRoles(report, registry, entries);
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatAudit(report)}\n`);
  return report.roles.some((r) => r.problems.length > 0 || r.status === 'not-registered') ? EXIT.problems : EXIT.ok;
}

/** Trust policies from IAM's export, by role name, and every role it lists. */
async function authorizationDetailsReader(
  path: string,
): Promise<{ read: TrustPolicyReader; entries: { arn: string; document: string }[] } | { error: string }> {
  let document: { RoleDetailList?: { RoleName?: unknown; Arn?: unknown; AssumeRolePolicyDocument?: unknown }[] };
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    return { error: `${path}: not readable JSON: ${(error as Error).message}` };
  }
  if (!Array.isArray(document?.RoleDetailList))
    return { error: `${path}: not get-account-authorization-details output: RoleDetailList is missing` };
  const byName = new Map<string, { arn: string; document: string }>();
  for (const r of document.RoleDetailList) {
    if (typeof r?.RoleName !== 'string' || typeof r.Arn !== 'string') continue;
    const policy = r.AssumeRolePolicyDocument;
    byName.set(r.RoleName, { arn: r.Arn, document: typeof policy === 'string' ? policy : JSON.stringify(policy) });
  }
  return { read: async (name) => byName.get(name) ?? null, entries: [...byName.values()] };
}

/** The readable audit, fitted to the terminal: short role names, the detail folded rather than cut. */
export function formatAudit(report: AuditReport, width?: number): string {
  const s = report.summary;
  const out = [
    `roleguard audit: ${s.roles} guarded roles; ${s.ok} ok, ${s.withProblems} with problems, ${s.notFound} not found, ${s.otherAccount} in another account${s.watchMode ? `; ${s.watchMode} in watch mode (externalIds: none: every assume from another account is reported)` : ''}`,
  ];
  if (s.notRegistered)
    out.push(
      `${s.notRegistered} ${s.notRegistered === 1 ? 'role' : 'roles'} another account can assume ${s.notRegistered === 1 ? 'is' : 'are'} not registered: roleguard does not watch ${s.notRegistered === 1 ? 'it' : 'them'} (roles add FILE, or externalIds: none to watch ${s.notRegistered === 1 ? 'it' : 'them'})`,
    );
  out.push('');
  const short = shortRoleNames(report.roles.map((r) => r.roleArn));
  const vendor = (r: RoleAudit) =>
    r.status === 'not-registered' ? 'not registered' : `${r.vendor}${r.watchMode ? ' (watch mode)' : ''}`;
  const detail = (r: RoleAudit) =>
    r.status === 'not-registered' ? `trusts ${(r.trustedAccounts ?? []).join(', ') || 'any account'}` : '';
  const rows = report.roles.flatMap((r) =>
    r.problems.length
      ? r.problems.map((p) => [short.get(r.roleArn)!, vendor(r), p.severity, p.kind, p.message])
      : [[short.get(r.roleArn)!, vendor(r), r.status === 'ok' ? 'ok' : r.status, '', detail(r)]],
  );
  if (rows.length)
    out.push(
      renderTable(
        [
          { header: 'role', keep: true },
          { header: 'vendor', wrap: true, min: 10 },
          { header: 'severity', keep: true },
          { header: 'problem', wrap: true, min: 14 },
          { header: 'detail', wrap: true, min: 20 },
        ],
        rows,
        width === undefined ? {} : { width },
      ),
    );
  return out.join('\n');
}
