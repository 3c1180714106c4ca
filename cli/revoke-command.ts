import { IAMClient } from '@aws-sdk/client-iam';
import type { Command } from 'commander';
import { parseRoleArn } from '../lib/cloudtrail/arn.js';
import { createRegistryStore, type Registry } from '../lib/registry/index.js';
import { applyRevocations } from '../lib/revoke/apply.js';
import { isAssumedRoleId, MAX_SESSION_SECONDS, policyTime, pruneTime, REVOCATION_POLICY_NAME, type RevocationState } from '../lib/revoke/policy.js';
import { protectedReason } from '../lib/revoke/respond.js';
import { EXIT } from './exit-codes.js';
import { addStoreOptions, openLocalStore, type StoreFlags } from './local-store.js';
import { readRegistryFile } from './registry-file.js';

interface RevokeFlags extends StoreFlags {
  role: string;
  session?: string;
  all?: boolean;
  expiresAt?: string;
  registry?: string;
  apply?: boolean;
  json?: boolean;
}

/** `roleguard revoke`: revoke one session of a role, or every session issued so far, by hand. */
export function registerRevoke(program: Command): void {
  const command = program
    .command('revoke')
    .description("Revoke a role's session (or all its sessions so far) with roleguard's date-conditioned deny policy")
    .requiredOption('--role <arn>', 'the role (full ARN)')
    .option('--session <assumedRoleId>', 'the session to revoke, as RoleId:sessionName (AROA…:name; see roleguard replay or the sessions table)')
    .option('--all', 'revoke every session of the role issued before now (the console\'s "Revoke active sessions")')
    .option('--expires-at <time>', 'when the session expires, if known, so its statement can be pruned then (default: now + 12 h)')
    .option('--registry <file>', 'registry file, for its protected and service roles; default: the registry table')
    .option('--apply', 'write the policy to IAM; without it, show what would be written (dry run)')
    .option('--json', 'print the result as JSON');
  addStoreOptions(command)
    .addHelpText('after', `
Examples:
  roleguard revoke --role arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit \\
    --session AROA3XFRBF23EXAMPLE1:ExampleCorp-scan-1730591251 --stage prod --region us-east-1
  roleguard revoke --role arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit --all --stage prod --apply

Only the role's ${REVOCATION_POLICY_NAME} inline policy is written, under a per-role lock, merged with what it
already holds (a revocation time only moves forward). Service-linked, AWSReservedSSO_*, roleguard's own and
protected roles are refused. Revocation does not stop a new assume: rotate or remove the external ID too.
Exit status: 0 done (or shown, in a dry run), 2 bad arguments or a protected role, 1 an AWS error.`)
    .action(async (flags: RevokeFlags) => {
      process.exitCode = await revoke(flags);
    });
}

async function revoke(flags: RevokeFlags): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`roleguard revoke: ${message}\n`);
    return EXIT.usage;
  };
  const parts = parseRoleArn(flags.role);
  if (!parts) return fail(`--role is not a role ARN: ${flags.role}`);
  if (Boolean(flags.session) === Boolean(flags.all)) return fail('give exactly one of --session RoleId:sessionName or --all');
  if (flags.session && !isAssumedRoleId(flags.session)) return fail(`--session is not an assumed-role id (AROA…:sessionName): ${flags.session}`);
  if (flags.expiresAt && Number.isNaN(Date.parse(flags.expiresAt))) return fail(`--expires-at is not a time: ${flags.expiresAt}`);
  let registry: Pick<Registry, 'protectedRoleArns' | 'serviceRoleArns'>;
  const store = flags.registry ? null : await openLocalStore(flags);
  try {
    if (flags.registry) {
      const loaded = await readRegistryFile(flags.registry);
      if ('error' in loaded) return fail(loaded.error);
      registry = loaded.registry;
    } else {
      registry = await createRegistryStore(store!.dynamo, store!.tables.registry).load();
    }
    const refused = protectedReason(flags.role, registry);
    if (refused) return fail(`refused: ${flags.role}: ${refused}; roleguard never changes such a role`);
    const now = new Date();
    const decidedAt = policyTime(now);
    const pruneAfter = flags.expiresAt ? pruneTime(decidedAt, flags.expiresAt) : policyTime(new Date(now.getTime() + MAX_SESSION_SECONDS * 1000));
    const addition: RevocationState = flags.all ? { role: { decidedAt, pruneAfter }, sessions: [] } : { role: null, sessions: [{ assumedRoleId: flags.session!, decidedAt, pruneAfter }] };
    if (flags.profile) process.env.AWS_PROFILE = flags.profile;
    const iam = new IAMClient({ ...(flags.region ? { region: flags.region } : {}), maxAttempts: 8 });
    const lockStore = store ?? (await openLocalStore(flags));
    try {
      const result = await applyRevocations({ iam, dynamo: lockStore.dynamo, lockTable: lockStore.tables.alerts, lock: { leaseMs: 60_000, waitMs: 120_000 } }, parts.roleName, [addition], now, { dryRun: !flags.apply });
      const summary = { roleArn: flags.role, revoked: flags.all ? 'role' : flags.session, decidedAt, policyName: REVOCATION_POLICY_NAME, written: result.written, dryRun: !flags.apply, fellBack: result.fellBack, policyDocument: result.policyDocument };
      if (flags.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else {
        const what = flags.all ? 'every session issued before' : `session ${flags.session} for tokens issued before`;
        process.stdout.write(`${flags.apply ? (result.written ? 'Revoked' : 'Already revoked') : 'Dry run: would revoke'} ${what} ${decidedAt} on ${flags.role}${result.fellBack ? ' (as the whole role: the inline policy budget is full)' : ''}\n`);
        process.stdout.write(`${REVOCATION_POLICY_NAME} after this change:\n${JSON.stringify(result.policyDocument, null, 2)}\n`);
        if (!flags.apply) process.stdout.write('Nothing was written. Run again with --apply to write it.\n');
        process.stdout.write('Revocation does not stop a new assume: rotate or remove the external ID too.\n');
      }
      return EXIT.ok;
    } finally {
      if (lockStore !== store) await lockStore.close();
    }
  } finally {
    await store?.close();
  }
}
