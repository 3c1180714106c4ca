import { readFile } from 'node:fs/promises';
import { IAMClient } from '@aws-sdk/client-iam';
import type { Command } from 'commander';
import { createRegistryStore, type Registry } from '../lib/registry/index.js';
import { type AuditReport, auditRegistry, iamTrustPolicyReader, type TrustPolicyReader } from '../lib/trust/index.js';
import { EXIT } from './exit-codes.js';
import { addStoreOptions, openLocalStore, type StoreFlags } from './local-store.js';
import { readRegistryFile } from './registry-file.js';
import { renderTable } from './table.js';

interface AuditFlags extends StoreFlags {
  registry?: string;
  authorizationDetails?: string;
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
    .option('--json', 'print the audit as one JSON document');
  addStoreOptions(command)
    .addHelpText(
      'after',
      `
Examples:
  roleguard audit --registry registry.yaml --authorization-details auth.json     (offline)
  roleguard audit --stage prod --region eu-west-1                                (live: IAM GetRole)

Without --authorization-details, trust policies are read with iam:GetRole using the standard AWS
credentials (and --profile/--region). The audit reads only; it changes nothing.
Exit status: 0 no problem found, 3 problems found, 2 bad arguments or registry, 1 could not run.`,
    )
    .action(async (flags: AuditFlags) => {
      process.exitCode = await audit(flags);
    });
}

async function audit(flags: AuditFlags): Promise<number> {
  let registry: Registry;
  if (flags.registry) {
    const loaded = await readRegistryFile(flags.registry);
    if ('error' in loaded) {
      process.stderr.write(`roleguard audit: ${loaded.error}\n`);
      return EXIT.usage;
    }
    registry = loaded.registry;
  } else {
    if (!flags.stage && !flags.endpoint) {
      process.stderr.write('roleguard audit: give --registry FILE, or --stage/--endpoint to read the registry table\n');
      return EXIT.usage;
    }
    const store = await openLocalStore(flags);
    try {
      registry = await createRegistryStore(store.dynamo, store.tables.registry).load();
    } finally {
      await store.close();
    }
  }
  let read: TrustPolicyReader;
  if (flags.authorizationDetails) {
    const loaded = await authorizationDetailsReader(flags.authorizationDetails);
    if ('error' in loaded) {
      process.stderr.write(`roleguard audit: ${loaded.error}\n`);
      return EXIT.usage;
    }
    read = loaded.read;
  } else {
    if (flags.profile) process.env.AWS_PROFILE = flags.profile;
    read = iamTrustPolicyReader(new IAMClient({ ...(flags.region ? { region: flags.region } : {}), maxAttempts: 5 }));
  }
  const report = await auditRegistry(registry, read);
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatAudit(report)}\n`);
  return report.roles.some((r) => r.problems.length > 0) ? EXIT.problems : EXIT.ok;
}

/** Trust policies from IAM's export, by role name. */
async function authorizationDetailsReader(path: string): Promise<{ read: TrustPolicyReader } | { error: string }> {
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
  return { read: async (name) => byName.get(name) ?? null };
}

/** The readable audit. */
export function formatAudit(report: AuditReport): string {
  const s = report.summary;
  const out = [
    `roleguard audit: ${s.roles} guarded roles; ${s.ok} ok, ${s.withProblems} with problems, ${s.notFound} not found, ${s.otherAccount} in another account`,
    '',
  ];
  const rows = report.roles.flatMap((r) =>
    r.problems.length
      ? r.problems.map((p) => [r.roleArn, r.vendor, p.severity, p.kind, p.message])
      : [[r.roleArn, r.vendor, r.status === 'ok' ? 'ok' : r.status, '', '']],
  );
  if (rows.length) out.push(renderTable(['role', 'vendor', 'severity', 'problem', 'detail'], rows, 150));
  return out.join('\n');
}
