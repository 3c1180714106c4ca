import type { Command } from 'commander';
import { ACCOUNT_ID, parseRoleArn } from '../lib/cloudtrail/arn.js';
import { maskExternalId } from '../lib/redact.js';
import { createSessionStore, type SessionView } from '../lib/sessions/index.js';
import { EXIT } from './exit-codes.js';
import { addStoreOptions, noteInMemory, openLocalStore, type StoreFlags } from './local-store.js';
import { loadIntents, revocationOf } from './revocation-view.js';
import { renderTable, shortRoleNames } from './table.js';

interface SessionsFlags extends StoreFlags {
  role?: string;
  accessKey?: string;
  callerAccount?: string;
  since?: string;
  until?: string;
  active?: boolean;
  limit: string;
  json?: boolean;
}

/** `roleguard sessions`: the first questions of an incident, answered from the session store. */
export function registerSessions(program: Command): void {
  const command = program
    .command('sessions')
    .description('Find recorded sessions: by role, access key or caller account, in a time window, still active or not')
    .option('--role <arn>', 'sessions of this role')
    .option('--access-key <ASIA…>', 'the session that holds this temporary access key id')
    .option('--caller-account <id>', 'sessions started from this account (12 digits)')
    .option('--since <time>', 'issued at or after: an ISO time, or an age such as 30m, 12h, 7d')
    .option('--until <time>', 'issued at or before: an ISO time, or an age')
    .option('--active', 'only sessions that have not expired yet (an unknown expiry counts as active)')
    .option('--limit <n>', 'show at most this many, newest first', '200')
    .option('--json', 'print the sessions as one JSON array');
  addStoreOptions(command)
    .addHelpText(
      'after',
      `
Examples:
  roleguard sessions --access-key ASIAQNZGKIQY56JQ7WML --stage prod
  roleguard sessions --role arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit --active --stage prod
  roleguard sessions --caller-account 444455556666 --since 7d --json --stage prod
  roleguard sessions --role arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit --data-dir ~/.roleguard

Give at least one of --role, --access-key or --caller-account; the others then filter. External IDs are
shown masked. A session roleguard revoked is marked revoked (or revocation pending, or revoked in dry run);
--json has the revocation under "revoked". Locally, the embedded DynamoDB Local is in memory unless --data-dir (or $ROLEGUARD_DATA_DIR)
keeps it, so use the same --data-dir for the replay that recorded the sessions, or --endpoint.
Exit status: 0 listed (also when none matched), 2 bad arguments, 1 the store failed.`,
    )
    .action(async (flags: SessionsFlags) => {
      process.exitCode = await sessions(flags);
    });
}

/** An ISO time, or an age (`30m`, `12h`, `7d`) before `now`; null when it is neither. */
export function parseTimeFlag(value: string, now: Date): string | null {
  const age = /^(\d{1,6})([mhd])$/.exec(value.trim());
  if (age)
    return new Date(
      now.getTime() - Number(age[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 'm' | 'h' | 'd'],
    ).toISOString();
  const at = Date.parse(value);
  return /^\d{4}-\d{2}-\d{2}/.test(value.trim()) && !Number.isNaN(at) ? new Date(at).toISOString() : null;
}

async function sessions(flags: SessionsFlags): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`roleguard sessions: ${message}\n`);
    return EXIT.usage;
  };
  if (!flags.role && !flags.accessKey && !flags.callerAccount)
    return fail('give at least one of --role ARN, --access-key ASIA… or --caller-account ID');
  if (flags.role && !parseRoleArn(flags.role)) return fail(`--role is not a role ARN: ${flags.role}`);
  if (flags.accessKey && !/^[A-Z0-9]{16,128}$/.test(flags.accessKey))
    return fail(`--access-key is not an access key id: ${flags.accessKey}`);
  if (flags.callerAccount && !ACCOUNT_ID.test(flags.callerAccount))
    return fail(`--caller-account is not a 12-digit account id: ${flags.callerAccount}`);
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
    return fail('--limit must be a whole number from 1 to 100000');
  const now = new Date();
  const from = flags.since ? parseTimeFlag(flags.since, now) : undefined;
  const to = flags.until ? parseTimeFlag(flags.until, now) : undefined;
  if (from === null) return fail(`--since is neither an ISO time nor an age like 12h: ${flags.since}`);
  if (to === null) return fail(`--until is neither an ISO time nor an age like 12h: ${flags.until}`);
  const range = { ...(from ? { from } : {}), ...(to ? { to } : {}) };

  const store = await openLocalStore(flags);
  try {
    noteInMemory(store, 'sessions', 'it holds no recorded session');
    const sessionStore = createSessionStore(store.dynamo, store.tables.sessions, 90);
    // The most selective index answers; the other flags filter what it returns.
    let found: SessionView[] = flags.accessKey
      ? await sessionStore.byAccessKey(flags.accessKey)
      : flags.role
        ? await sessionStore.byRole(flags.role, range)
        : await sessionStore.byCallerAccount(flags.callerAccount!, range);
    const roleName = flags.role ? parseRoleArn(flags.role)!.roleName : null;
    found = found.filter(
      (s) =>
        (!flags.role || parseRoleArn(s.roleArn)?.roleName === roleName) &&
        (!flags.callerAccount || s.callerAccountId === flags.callerAccount) &&
        (!from || Date.parse(s.issuedAt) >= Date.parse(from)) &&
        (!to || Date.parse(s.issuedAt) <= Date.parse(to)) &&
        (!flags.active ||
          (s.outcome === 'success' && (s.expiresAt === null || Date.parse(s.expiresAt) > now.getTime()))),
    );
    found.sort((a, b) => Date.parse(b.issuedAt) - Date.parse(a.issuedAt));
    // Which of them roleguard revoked (or is revoking, or decided to in a dry run).
    const intents = found.length ? await loadIntents(store) : [];
    const shown = found.slice(0, limit).map((s) => ({
      ...s,
      externalId: maskExternalId(s.externalId),
      active: s.outcome === 'success' && (s.expiresAt === null || Date.parse(s.expiresAt) > now.getTime()),
      revoked: revocationOf(s, intents),
    }));
    const state = (s: (typeof shown)[number]) => {
      if (s.outcome === 'denied') return `denied (${s.errorCode})`;
      const time = s.active ? 'active' : 'expired';
      if (s.revoked?.state === 'applied') return `revoked${s.active ? '' : ', expired'}`;
      if (s.revoked?.state === 'pending') return `${time}, revoke pending`;
      if (s.revoked?.state === 'dry-run') return `${time}, dry-run revoke`;
      return time;
    };
    if (flags.json) process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
    else if (shown.length === 0) process.stdout.write('No session matched.\n');
    else {
      const short = shortRoleNames(shown.map((s) => s.roleArn));
      process.stdout.write(
        `${renderTable(
          [
            { header: 'issued (UTC)', keep: true },
            { header: 'expires', keep: true, optional: true },
            { header: 'role', keep: true },
            { header: 'session', min: 10 },
            { header: 'caller', keep: true },
            { header: 'external ID', keep: true },
            { header: 'state', wrap: true, min: 10 },
            { header: 'access key', keep: true, optional: true },
            { header: 'source IP', keep: true, optional: true },
          ],
          shown.map((s) => [
            s.issuedAt,
            // The time only, when it expires on the day it was issued.
            s.expiresAt && s.expiresAt.slice(0, 10) === s.issuedAt.slice(0, 10) ? s.expiresAt.slice(11) : s.expiresAt,
            short.get(s.roleArn)!,
            s.roleSessionName,
            s.callerAccountId ?? s.callerType,
            s.externalId,
            state(s),
            s.accessKeyId,
            s.sourceIpAddress,
          ]),
        )}\n`,
      );
      if (found.length > shown.length) process.stdout.write(`… ${found.length - shown.length} more (raise --limit)\n`);
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
