import type { IAMClient } from '@aws-sdk/client-iam';
import type { Command } from 'commander';
import { parseRoleArn } from '../lib/cloudtrail/arn.js';
import { createLogger } from '../lib/logger.js';
import { createRegistryStore, indexRegistry, type Registry } from '../lib/registry/index.js';
import {
  type ManualRevocation,
  type ManualTarget,
  planManualRevocation,
  RevocationRefused,
  revokeByHand,
} from '../lib/revoke/manual.js';
import { REVOCATION_POLICY_NAME } from '../lib/revoke/policy.js';
import { createRevocationStore } from '../lib/revoke/store.js';
import { createSessionStore, type SessionStore, type SessionView } from '../lib/sessions/index.js';
import { iamClient } from './aws-access.js';
import { EXIT } from './exit-codes.js';
import { addStoreOptions, noteInMemory, openLocalStore, type StoreFlags } from './local-store.js';
import { readRegistryFile } from './registry-file.js';
import { previewRevocation, type RevocationPreview } from './revoke-preview.js';
import { roleAccountCheck } from './role-account.js';

interface RevokeFlags extends StoreFlags {
  role: string;
  session?: string;
  accessKey?: string;
  all?: boolean;
  registry?: string;
  dryRun?: boolean;
  apply?: boolean;
  reason?: string;
  json?: boolean;
}

/** `roleguard revoke`: revoke one session of a role, or every session issued so far, by hand. */
export function registerRevoke(program: Command): void {
  const command = program
    .command('revoke')
    .description("Revoke a role's session (or all its sessions so far) with roleguard's date-conditioned deny policy")
    .requiredOption('--role <arn>', 'the role (full ARN)')
    .option('--session <name>', 'the session: its role session name, or its assumed-role id (AROA…:name)')
    .option('--access-key <ASIA…>', "the session's access key id, looked up in the session store")
    .option('--all', 'revoke every session of the role issued before now (the console\'s "Revoke active sessions")')
    .option(
      '--dry-run',
      'show the policy that would be written, and write nothing (works without AWS access: it then assumes the role has no other inline policy)',
    )
    .option('--apply', 'write the policy (the default; kept for scripts that pass it)')
    .option('--reason <text>', 'why, recorded with the revocation')
    .option('--registry <file>', 'registry file, for its protected and service roles; default: the registry table')
    .option('--json', 'print the result as JSON');
  addStoreOptions(command)
    .addHelpText(
      'after',
      `
Examples:
  roleguard revoke --role arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit \\
    --access-key ASIAQNZGKIQY56JQ7WML --stage prod --region us-east-1
  roleguard revoke --role arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit \\
    --session ExampleCorp-scan-1730591251 --stage prod --dry-run
  roleguard revoke --role arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit --all --stage prod

Only the role's ${REVOCATION_POLICY_NAME} inline policy is written, under a per-role lock, merged with what it
already holds (a revocation time only moves forward). The revocation is recorded in the revocations table first;
with --stage, the deployed sweep re-applies it if IAM fails. Service-linked, AWSReservedSSO_*, roleguard's own and
protected roles are refused. A session given by --access-key or by name is looked up in the session store (its
expiry bounds how long the statement stays); a name that was never recorded is resolved with iam:GetRole.
Revocation does not stop a new assume: rotate or remove the external ID too.
--dry-run records nothing; with AWS access it reads the role's inline policies, without it shows the policy
as if the role had none. Without --dry-run, a Region (--region) and credentials (--profile, aws sso login) are needed.
Exit status: 0 done (or shown, with --dry-run), 2 bad arguments, a protected role or nothing to revoke,
1 no AWS access or an AWS error (with --stage the revocation stays recorded and the sweep retries it).`,
    )
    .action(async (flags: RevokeFlags) => {
      process.exitCode = await revoke(flags);
    });
}

function targetOf(flags: RevokeFlags): ManualTarget | string {
  const given = [flags.session, flags.accessKey, flags.all].filter((x) => x !== undefined && x !== false);
  if (given.length !== 1) return 'give exactly one of --session NAME, --access-key ASIA… or --all';
  if (flags.dryRun && flags.apply) return '--dry-run and --apply contradict each other';
  if (flags.all) return { all: true };
  if (flags.accessKey) return { accessKeyId: flags.accessKey };
  return flags.session!.includes(':') ? { assumedRoleId: flags.session! } : { sessionName: flags.session! };
}

async function revoke(flags: RevokeFlags): Promise<number> {
  const fail = (message: string, code: number = EXIT.usage) => {
    process.stderr.write(`roleguard revoke: ${message}\n`);
    return code;
  };
  if (!parseRoleArn(flags.role)) return fail(`--role is not a role ARN: ${flags.role}`);
  const target = targetOf(flags);
  if (typeof target === 'string') return fail(target);
  let fileRegistry: Registry | null = null;
  if (flags.registry) {
    const loaded = await readRegistryFile(flags.registry);
    if ('error' in loaded) return fail(loaded.error);
    fileRegistry = loaded.registry;
  }
  // Checked before anything is opened or recorded: no Region or no credentials is a plain message, not a stack.
  const aws = await iamClient(flags);
  const noAws = 'problem' in aws ? aws.problem : null;
  if (noAws && (!flags.dryRun || flags.stage)) return fail(noAws, EXIT.failed);
  const iam = 'iam' in aws ? aws.iam : null;
  // IAM writes by role name in the credentials' account: a role of another account is refused before anything.
  const checked = iam ? await roleAccountCheck(flags, iam, flags.role) : null;
  if (checked && 'refusal' in checked) return fail(checked.refusal, checked.awsError ? EXIT.failed : EXIT.usage);
  const store = await openLocalStore(flags);
  try {
    if (!('all' in target)) noteInMemory(store, 'revoke', 'no session is recorded in it to look up');
    const registry = fileRegistry ?? (await createRegistryStore(store.dynamo, store.tables.registry).load());
    // Matched by account and role name, as IAM writes by name: an ARN given without (or with another) path is the
    // same role. The registry's ARN is used from here on. A role whose entry says dryRun is never written by hand.
    const registered = indexRegistry(registry).roleFor(flags.role);
    const roleArn = registered?.roleArn ?? flags.role;
    const roleDryRun = registered?.dryRun === true;
    const dryRun = flags.dryRun === true || roleDryRun;
    if (roleDryRun && !flags.dryRun)
      process.stderr.write(
        "roleguard revoke: note: this role's dryRun is set in the registry: showing what would be written, writing nothing\n",
      );
    const sessions = createSessionStore(store.dynamo, store.tables.sessions, 90);
    // With --stage, the stack's own roles are known by name and never revoked.
    const guarded = { ...registry, ownRoleArns: flags.stage ? [`arn:aws:iam::*:role/roleguard-${flags.stage}-*`] : [] };
    const request = {
      roleArn,
      target,
      dryRun,
      requestedBy: process.env.USER ?? null,
      reason: flags.reason ?? null,
    };
    const now = new Date();
    if (dryRun) return await dryRunRevocation(flags, request, guarded, sessions, iam, noAws, now);
    const deps = {
      iam: iam!,
      accountId: checked && 'account' in checked ? checked.account : null,
      dynamo: store.dynamo,
      store: createRevocationStore(store.dynamo, store.tables.revocations),
      sessions,
      logger: createLogger({ level: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN' }),
    };
    if (!store.deployed) {
      process.stderr.write(
        "roleguard revoke: note: without --stage the per-role lock and the intent are in a local table, not the deployed stack's; a revocation the deployed service writes on this role at the same moment could overwrite this one. Use --stage to share its lock.\n",
      );
    }
    let result: Awaited<ReturnType<typeof revokeByHand>>;
    try {
      result = await revokeByHand(deps, guarded, request, now);
    } catch (error) {
      if (error instanceof RevocationRefused) return fail(error.message);
      throw error;
    }
    const summary = {
      roleArn,
      revoked: result.revoked ?? 'role',
      decidedAt: result.decidedAt,
      policyName: REVOCATION_POLICY_NAME,
      written: result.applied,
      dryRun: false,
      fellBack: result.fellBack,
      intentId: result.intentId,
      pending: result.pendingError ?? null,
      sessions: result.sessions.map(sessionSummary),
      policyDocument: result.policyDocument,
    };
    if (flags.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else {
      const what = result.revoked
        ? `session ${result.revoked} for tokens issued before`
        : 'every session issued before';
      const verb = result.pendingError ? 'Recorded, not yet applied: revoke' : 'Revoked';
      process.stdout.write(
        `${verb} ${what} ${result.decidedAt} on ${roleArn}${result.fellBack ? ' (as the whole role: the inline policy budget is full)' : ''}\n`,
      );
      writeSessions(result.sessions);
      if (result.policyDocument)
        process.stdout.write(
          `${REVOCATION_POLICY_NAME} after this change:\n${JSON.stringify(result.policyDocument, null, 2)}\n`,
        );
      process.stdout.write('Revocation does not stop a new assume: rotate or remove the external ID too.\n');
    }
    if (result.pendingError)
      return fail(
        `IAM failed: ${result.pendingError}${store.deployed ? '; the revocation is recorded and the deployed sweep retries it' : '; the revocation is recorded in the local table'}`,
        EXIT.failed,
      );
    return EXIT.ok;
  } finally {
    iam?.destroy();
    await store.close();
  }
}

const sessionSummary = (s: SessionView) => ({
  eventId: s.eventId,
  accessKeyId: s.accessKeyId,
  issuedAt: s.issuedAt,
  expiresAt: s.expiresAt,
  callerAccountId: s.callerAccountId,
  sourceIpAddress: s.sourceIpAddress,
});

function writeSessions(sessions: SessionView[]): void {
  if (sessions.length)
    process.stdout.write(
      `Recorded sessions it covers: ${sessions.map((s) => `${s.accessKeyId ?? s.eventId} (issued ${s.issuedAt}, expires ${s.expiresAt ?? 'unknown'})`).join(', ')}\n`,
    );
}

/** An IAM client for planning without AWS access: any call it would make is refused with the plain message. */
function offlineIam(problem: string): IAMClient {
  return {
    send: async () => {
      throw new RevocationRefused(
        `the session name is not recorded, so the role's id must come from IAM (iam:GetRole), and ${problem}; or give --session AROA…:NAME`,
      );
    },
  } as unknown as IAMClient;
}

/** A dry run: plan the revocation and show the policy it would leave; nothing is recorded, locked or written. */
async function dryRunRevocation(
  flags: RevokeFlags,
  request: ManualRevocation,
  registry: Parameters<typeof planManualRevocation>[1],
  sessions: SessionStore,
  iam: IAMClient | null,
  noAws: string | null,
  now: Date,
): Promise<number> {
  const fail = (message: string, code: number = EXIT.usage) => {
    process.stderr.write(`roleguard revoke: ${message}\n`);
    return code;
  };
  let plan: Awaited<ReturnType<typeof planManualRevocation>>;
  try {
    plan = await planManualRevocation(request, registry, sessions, iam ?? offlineIam(noAws!), now);
  } catch (error) {
    if (error instanceof RevocationRefused) return fail(error.message);
    throw error;
  }
  let preview: RevocationPreview;
  try {
    preview = await previewRevocation(iam, parseRoleArn(request.roleArn)!.roleName, plan.addition, now);
  } catch (error) {
    return fail(
      `could not read the role's inline policies (${(error as Error).name}: ${(error as Error).message}); nothing was written`,
      EXIT.failed,
    );
  }
  const decidedAt = plan.addition.role?.decidedAt ?? plan.addition.sessions[0]!.decidedAt;
  const assumption = preview.readFromIam
    ? null
    : `no AWS access, so the role's policies were not read: this assumes the role has no other inline policy and no ${REVOCATION_POLICY_NAME} policy yet (to read them, give --region, and --profile or run aws sso login)`;
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          roleArn: request.roleArn,
          revoked: plan.revoked ?? 'role',
          decidedAt,
          policyName: REVOCATION_POLICY_NAME,
          written: false,
          dryRun: true,
          fellBack: preview.fellBack,
          readFromIam: preview.readFromIam,
          assumption,
          sessions: plan.sessions.map(sessionSummary),
          policyDocument: preview.policyDocument,
        },
        null,
        2,
      )}\n`,
    );
    return EXIT.ok;
  }
  const what = plan.revoked ? `session ${plan.revoked} for tokens issued before` : 'every session issued before';
  process.stdout.write(
    `Dry run: would revoke ${what} ${decidedAt} on ${request.roleArn}${preview.fellBack ? ' (as the whole role: the inline policy budget is full)' : ''}\n`,
  );
  writeSessions(plan.sessions);
  if (assumption) process.stdout.write(`Note: ${assumption}.\n`);
  if (preview.policyDocument)
    process.stdout.write(
      `${REVOCATION_POLICY_NAME} after this change:\n${JSON.stringify(preview.policyDocument, null, 2)}\n`,
    );
  process.stdout.write('Nothing was written. Run again without --dry-run to write it.\n');
  process.stdout.write('Revocation does not stop a new assume: rotate or remove the external ID too.\n');
  return EXIT.ok;
}
