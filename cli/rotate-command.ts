import { IAMClient } from '@aws-sdk/client-iam';
import type { Command } from 'commander';
import { parseRoleArn } from '../lib/cloudtrail/arn.js';
import { createLogger } from '../lib/logger.js';
import { maskExternalId } from '../lib/redact.js';
import { createRegistryStore, type RegisteredRole, type Registry } from '../lib/registry/index.js';
import { otherAccountReason } from '../lib/revoke/service.js';
import { createRevocationStore } from '../lib/revoke/store.js';
import {
  createRotationStore,
  describeOldIdCallers,
  finishableAt,
  finishRotation,
  IN_FLIGHT,
  iamTrustPolicyIo,
  nextRotationDue,
  oldIdCallersSince,
  quietHoursOf,
  type Rotation,
  RotationRefused,
  type RotationResult,
  revokeOldSessionsWith,
  rollbackRotation,
  rotationDeps,
  startRotation,
  type TrustPolicyIo,
  withRotations,
} from '../lib/rotate/index.js';
import { createSessionStore } from '../lib/sessions/index.js';
import { EXIT } from './exit-codes.js';
import { addStoreOptions, type LocalStore, openLocalStore, type StoreFlags } from './local-store.js';
import { readRegistryFile } from './registry-file.js';
import { roleAccountCheck } from './role-account.js';
import { renderTable } from './table.js';

interface RotateFlags extends StoreFlags {
  role: string;
  start?: boolean;
  finish?: boolean;
  force?: boolean;
  rollback?: boolean;
  status?: boolean;
  dryRun?: boolean;
  registry?: string;
  json?: boolean;
}

/** `roleguard rotate` and `roleguard rotations`. */
export function registerRotate(program: Command): void {
  const rotate = program
    .command('rotate')
    .description("Rotate a role's external ID in two phases: start, finish once the vendor switched, or roll back")
    .requiredOption('--role <arn>', 'the role (full ARN)')
    .option('--start', 'start a rotation now: a new ID is generated and the trust policy accepts both')
    .option(
      '--finish',
      'remove the old ID (only once CloudTrail showed the vendor using the new one and the old one went unused for the quiet period, unless --force)',
    )
    .option(
      '--force',
      'with --finish: finish without a confirmation or before the quiet period; with --rollback: roll back a confirmed rotation',
    )
    .option('--rollback', 'drop the pending ID and accept only the previous one again')
    .option('--status', "show the role's rotation (the default)")
    .option('--dry-run', 'show the trust policy each step would write, and write nothing')
    .option('--registry <file>', 'registry file; default: the registry table')
    .option('--json', 'print the result as JSON');
  addStoreOptions(rotate)
    .addHelpText(
      'after',
      `
Examples:
  roleguard rotate --role arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit --status --stage prod
  roleguard rotate --role arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit --start --stage prod
  roleguard rotate --role arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit --finish --force --stage prod
  roleguard rotate --role arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit --rollback --stage prod

--start generates a new ID and makes the trust policy accept the current and the new one; the deployed rotate
function then gives the new ID to the vendor's contact (SNS) and finishes once CloudTrail shows an assume with it and
the old ID has gone unused for the role's rotation.quietHours (default 24) since. --status lists the callers and
source IPs still seen with the old ID. Only the sts:ExternalId values of the vendor's statements change; a finish or
rollback is refused, naming them, when those statements accept other IDs too (added by hand, say). At most one rotation per role runs at a time.
With the role's rotation.revokeOldSessions, --finish also revokes the sessions still alive that were issued with the old ID.
IDs are shown masked; the full new ID travels only to the vendor's configured channel.
Exit status: 0 done (or shown), 2 bad arguments or a step refused (with the reason), 1 an AWS error.`,
    )
    .action(async (flags: RotateFlags) => {
      process.exitCode = await rotateCommand(flags);
    });
  const list = program
    .command('rotations')
    .description("List the rotations in flight (and, with --all, every role's rotation state), with ages and deadlines")
    .option('--all', 'include roles with no rotation in flight')
    .option('--registry <file>', 'registry file; default: the registry table')
    .option('--json', 'print as JSON');
  addStoreOptions(list)
    .addHelpText(
      'after',
      `
Examples:
  roleguard rotations --stage prod --region eu-west-1
  roleguard rotations --all --json --stage prod

Exit status: 0 listed, 1 the store failed.`,
    )
    .action(async (flags: StoreFlags & { all?: boolean; registry?: string; json?: boolean }) => {
      process.exitCode = await listRotations(flags);
    });
}

async function loadRegistry(store: LocalStore, file: string | undefined): Promise<Registry | { error: string }> {
  const base = file
    ? await readRegistryFile(file)
    : { registry: await createRegistryStore(store.dynamo, store.tables.registry).load() };
  if ('error' in base) return base;
  return withRotations(base.registry, await createRotationStore(store.dynamo, store.tables.registry).list());
}

/** A trust policy as shown: its sts:ExternalId values masked (the full new ID travels to the vendor's channel only). */
export function maskedPolicy(document: string | null): unknown {
  if (document === null) return null;
  const mask = (value: unknown, key: string | null): unknown => {
    if (key !== null && key.toLowerCase() === 'sts:externalid')
      return Array.isArray(value) ? value.map((v) => maskExternalId(String(v))) : maskExternalId(String(value));
    if (Array.isArray(value)) return value.map((v) => mask(v, null));
    if (typeof value === 'object' && value !== null)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, k)]));
    return value;
  };
  return mask(JSON.parse(document), null);
}

const age = (from: string | null, now: Date): string => {
  if (!from) return '-';
  const hours = (now.getTime() - Date.parse(from)) / 3_600_000;
  return hours < 48 ? `${Math.max(0, Math.floor(hours))}h` : `${Math.floor(hours / 24)}d`;
};

/** A rotation as shown: IDs masked, never in full. */
function view(rotation: Rotation | null, now: Date, role: RegisteredRole) {
  if (!rotation) return null;
  const inFlight = IN_FLIGHT.includes(rotation.phase);
  return {
    roleArn: rotation.roleArn,
    phase: rotation.phase,
    rotationId: rotation.rotationId,
    trigger: rotation.trigger,
    requestedBy: rotation.requestedBy,
    previousId: maskExternalId(rotation.previousId),
    pendingId: maskExternalId(rotation.pendingId),
    startedAt: rotation.startedAt,
    age: age(rotation.startedAt, now),
    deadlineAt: rotation.deadlineAt,
    // Past the deadline unconfirmed, or confirmed but with the old ID still used since (the finish waits for it).
    overdue:
      inFlight &&
      (rotation.phase !== 'confirmed' || oldIdCallersSince(rotation, rotation.confirmedAt).length > 0) &&
      rotation.deadlineAt !== null &&
      rotation.deadlineAt <= now.toISOString(),
    setAt: rotation.setAt,
    notifiedAt: rotation.notifiedAt,
    confirmedAt: rotation.confirmedAt,
    confirmation: rotation.confirmation,
    quietHours: quietHoursOf(role),
    /** A confirmed rotation finishes by itself once the old ID has gone unused this long (from here on). */
    finishableAt: finishableAt(rotation, role),
    /** Who used the old ID during the rotation in flight (since the confirmation, once confirmed), most recent first. */
    oldIdCallers: inFlight ? oldIdCallersSince(rotation, rotation.confirmedAt) : [],
    finishedAt: rotation.finishedAt,
    forced: rotation.forced,
    rolledBackAt: rotation.rolledBackAt,
    lastError: rotation.lastError,
    history: rotation.history,
  };
}

async function rotateCommand(flags: RotateFlags): Promise<number> {
  const fail = (message: string, code: number = EXIT.usage) => {
    process.stderr.write(`roleguard rotate: ${message}\n`);
    return code;
  };
  if (!parseRoleArn(flags.role)) return fail(`--role is not a role ARN: ${flags.role}`);
  const chosen = (['start', 'finish', 'rollback', 'status'] as const).filter((k) => flags[k]);
  if (chosen.length > 1)
    return fail(
      `give at most one of --start, --finish, --rollback, --status (got ${chosen.map((c) => `--${c}`).join(', ')})`,
    );
  const action = chosen[0] ?? 'status';
  if (flags.force && action !== 'finish' && action !== 'rollback')
    return fail('--force goes with --finish or --rollback');
  const store = await openLocalStore(flags);
  try {
    const registry = await loadRegistry(store, flags.registry);
    if ('error' in registry) return fail(registry.error);
    const role =
      registry.roles.find((r) => r.roleArn === flags.role) ??
      registry.roles.find(
        (r) =>
          parseRoleArn(r.roleArn)?.roleName === parseRoleArn(flags.role)!.roleName &&
          parseRoleArn(r.roleArn)?.accountId === parseRoleArn(flags.role)!.accountId,
      );
    if (!role) return fail(`${flags.role} is not in the registry; register it first (roleguard roles import)`);
    const now = new Date();
    const rotations = createRotationStore(store.dynamo, store.tables.registry);
    if (action === 'status') {
      const rotation = await rotations.get(role.roleArn);
      const shown = {
        ...view(rotation, now, role),
        roleArn: role.roleArn,
        vendor: role.vendor,
        schedule: role.rotation,
        nextDue: nextRotationDue(role, rotation),
      };
      if (flags.json) process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      else process.stdout.write(describe(role, rotation, now, shown.nextDue));
      return EXIT.ok;
    }
    if (flags.profile) process.env.AWS_PROFILE = flags.profile;
    const iam = new IAMClient({ ...(flags.region ? { region: flags.region } : {}), maxAttempts: 3 });
    // IAM writes by role name in the credentials' account: a role of another account is refused before IAM is read
    // or written (checked at the first IAM call, so that a refusal the registry decides needs no AWS access).
    const revoking = {
      iam,
      accountId: null as string | null,
      dynamo: store.dynamo,
      store: createRevocationStore(store.dynamo, store.tables.revocations),
      logger: createLogger({ level: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN' }),
    };
    const logger = revoking.logger;
    let awsRefusal = false;
    const ensureAccount = async () => {
      if (revoking.accountId) return;
      const checked = await roleAccountCheck(flags, iam, role.roleArn);
      if ('refusal' in checked) {
        awsRefusal = checked.awsError === true;
        throw new RotationRefused(checked.refusal);
      }
      revoking.accountId = checked.account;
    };
    const io = iamTrustPolicyIo(iam);
    const trust: TrustPolicyIo = {
      async read(roleArn) {
        await ensureAccount();
        return io.read(roleArn);
      },
      async write(roleArn, document) {
        await ensureAccount();
        return io.write(roleArn, document);
      },
    };
    const deps = rotationDeps({
      dynamo: store.dynamo,
      registryTable: store.tables.registry,
      registry,
      ownRoleArns: flags.stage ? [`arn:aws:iam::*:role/roleguard-${flags.stage}-*`] : [],
      trust,
      otherAccount: (arn) => otherAccountReason({ accountId: revoking.accountId }, arn),
      // No vendor channel here: the deployed rotate function tells the vendor. Notices go to stderr.
      notifier: {
        alert: async (notice) =>
          void process.stderr.write(`roleguard rotate: ${notice.severity}: ${notice.title}: ${notice.message}\n`),
      },
      logger,
      idLength: Number(process.env.EXTERNAL_ID_LENGTH ?? 32),
      maxTrustPolicySize: Number(process.env.TRUST_POLICY_SIZE_LIMIT ?? 2048),
      dryRun: flags.dryRun === true,
      // As the deployed function: at a finish, a role with rotation.revokeOldSessions has its old-ID sessions revoked
      // (one intent per rotation in the revocations table, so a finish completed by the function never doubles it).
      revokeOldSessions: revokeOldSessionsWith(
        revoking,
        createSessionStore(store.dynamo, store.tables.sessions, 90),
        flags.dryRun === true,
      ),
    });
    const requestedBy = process.env.USER ?? null;
    let result: RotationResult;
    try {
      result =
        action === 'start'
          ? await startRotation(deps, role, { trigger: 'manual', requestedBy, now })
          : action === 'finish'
            ? await finishRotation(deps, role, now, { force: flags.force === true, requestedBy })
            : await rollbackRotation(deps, role, now, { force: flags.force === true, requestedBy });
    } catch (error) {
      if (error instanceof RotationRefused) return fail(error.message, awsRefusal ? EXIT.failed : EXIT.usage);
      throw error;
    }
    const plan = result.plan.map((p) => ({ step: p.step, document: maskedPolicy(p.document) }));
    if (flags.json)
      process.stdout.write(
        `${JSON.stringify({ roleArn: role.roleArn, action, dryRun: flags.dryRun === true, done: result.done, waiting: result.waiting, plan, rotation: view(result.rotation, now, role) }, null, 2)}\n`,
      );
    else {
      if (result.done.length) process.stdout.write(`Done: ${result.done.join(', ')}\n`);
      for (const step of plan)
        process.stdout.write(
          `Dry run: ${step.step} would write${step.document ? ` this trust policy (external IDs masked):\n${JSON.stringify(step.document, null, 2)}` : ' nothing to the trust policy'}\n`,
        );
      if (result.waiting) process.stdout.write(`${result.waiting}\n`);
      process.stdout.write(describe(role, result.rotation, now, null));
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

function describe(role: RegisteredRole, rotation: Rotation | null, now: Date, nextDue: string | null): string {
  const { roleArn } = role;
  if (!rotation) return `${roleArn}: no rotation yet${nextDue ? `; next due ${nextDue}` : ''}\n`;
  const v = view(rotation, now, role)!;
  const lines = [
    `${roleArn}: ${v.phase}${v.overdue ? ' (OVERDUE)' : ''}`,
    ...(v.startedAt
      ? [
          `  started ${v.startedAt} (${v.age} ago) by ${v.trigger === 'manual' ? (v.requestedBy ?? 'hand') : 'the schedule'}; deadline ${v.deadlineAt}`,
        ]
      : []),
    ...(v.pendingId ? [`  previous ID ${v.previousId}, new ID ${v.pendingId}`] : []),
    ...(v.confirmation
      ? [
          `  confirmed ${v.confirmation.at} by account ${v.confirmation.callerAccountId} (event ${v.confirmation.eventId})`,
        ]
      : []),
    ...(v.finishableAt
      ? [`  finishes once the old ID has gone unused for ${v.quietHours} h: not before ${v.finishableAt}`]
      : []),
    ...(v.oldIdCallers.length
      ? [
          `  still seen with the old ID${v.confirmedAt ? ' since the confirmation' : ''}: ${describeOldIdCallers(v.oldIdCallers)}`,
        ]
      : []),
    ...(v.lastError ? [`  last error: ${v.lastError}`] : []),
    ...(nextDue ? [`  next rotation due ${nextDue}`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

async function listRotations(
  flags: StoreFlags & { all?: boolean; registry?: string; json?: boolean },
): Promise<number> {
  const store = await openLocalStore(flags);
  try {
    const registry = await loadRegistry(store, flags.registry);
    if ('error' in registry) {
      process.stderr.write(`roleguard rotations: ${registry.error}\n`);
      return EXIT.usage;
    }
    const now = new Date();
    const byRole = new Map(
      (await createRotationStore(store.dynamo, store.tables.registry).list()).map((r) => [r.roleArn, r]),
    );
    const rows = registry.roles
      .map((role) => ({ role, rotation: byRole.get(role.roleArn) ?? null }))
      .filter(({ rotation }) => flags.all || (rotation && IN_FLIGHT.includes(rotation.phase)))
      .map(({ role, rotation }) => ({
        ...view(rotation, now, role),
        roleArn: role.roleArn,
        vendor: role.vendor,
        phase: rotation?.phase ?? 'none',
        nextDue: nextRotationDue(role, rotation),
      }));
    if (flags.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else if (rows.length === 0)
      process.stdout.write(`No rotation in flight${flags.all ? '' : ' (--all lists every role)'}.\n`);
    else {
      process.stdout.write(
        `${renderTable(
          ['vendor', 'role', 'phase', 'age', 'deadline', 'new ID', 'next due', 'last error'],
          rows.map((r) => [
            r.vendor,
            r.roleArn,
            `${r.phase}${r.overdue ? ' OVERDUE' : ''}`,
            r.age ?? '-',
            r.deadlineAt ?? null,
            r.pendingId ?? null,
            r.nextDue,
            r.lastError ?? null,
          ]),
          60,
        )}\n`,
      );
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
