import type { Command } from 'commander';
import { parseRoleArn } from '../lib/cloudtrail/arn.js';
import { roleKey } from '../lib/registry/diff.js';
import type { RevocationIntent } from '../lib/revoke/store.js';
import { EXIT } from './exit-codes.js';
import { addStoreOptions, noteInMemory, openLocalStore, type StoreFlags } from './local-store.js';
import { loadIntents } from './revocation-view.js';
import { renderTable, shortRoleNames } from './table.js';

interface RevocationsFlags extends StoreFlags {
  role?: string;
  state?: string;
  limit: string;
  json?: boolean;
}

const STATES = ['pending', 'applied', 'dry-run', 'expired', 'refused'];

/** `roleguard revocations`: the revocations a store holds, decided by a finding or by hand. */
export function registerRevocations(program: Command): void {
  const command = program
    .command('revocations')
    .description('List the revocations the store holds: what was revoked, why, and whether IAM has it')
    .option('--role <arn>', 'revocations of this role')
    .option('--state <state>', `only this state: ${STATES.join(', ')}`)
    .option('--limit <n>', 'show at most this many, newest first', '200')
    .option('--json', 'print the revocations as one JSON array');
  addStoreOptions(command)
    .addHelpText(
      'after',
      `
Examples:
  roleguard revocations --stage prod --state pending
  roleguard revocations --data-dir ~/.roleguard --role arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit

States: applied (IAM has it), pending (recorded; the sweep retries it), dry-run (decided, never written),
expired (the sessions ended before it could be applied), refused (the role became protected).
Exit status: 0 listed (also when there is none), 2 bad arguments, 1 the store failed.`,
    )
    .action(async (flags: RevocationsFlags) => {
      process.exitCode = await revocations(flags);
    });
}

const target = (i: RevocationIntent) =>
  i.addition.role || i.fellBack ? 'whole role' : i.addition.sessions.map((s) => s.assumedRoleId).join(', ');
const source = (i: RevocationIntent) =>
  i.source.kind === 'finding'
    ? `finding ${i.source.findingKind}`
    : `by hand${i.source.requestedBy ? ` (${i.source.requestedBy})` : ''}${i.source.reason ? `: ${i.source.reason}` : ''}`;

async function revocations(flags: RevocationsFlags): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`roleguard revocations: ${message}\n`);
    return EXIT.usage;
  };
  if (flags.role && !parseRoleArn(flags.role)) return fail(`--role is not a role ARN: ${flags.role}`);
  if (flags.state && !STATES.includes(flags.state)) return fail(`--state must be one of ${STATES.join(', ')}`);
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
    return fail('--limit must be a whole number from 1 to 100000');
  const store = await openLocalStore(flags);
  try {
    noteInMemory(store, 'revocations', 'it holds no revocation');
    const intents = (await loadIntents(store)).filter(
      (i) => (!flags.role || roleKey(i.roleArn) === roleKey(flags.role)) && (!flags.state || i.state === flags.state),
    );
    const shown = intents.slice(0, limit);
    if (flags.json) process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
    else if (shown.length === 0) process.stdout.write('No revocation.\n');
    else {
      const short = shortRoleNames(shown.map((i) => i.roleArn));
      process.stdout.write(
        `${renderTable(
          [
            { header: 'decided (UTC)', keep: true },
            { header: 'role', keep: true },
            { header: 'revoked', wrap: true, min: 14 },
            { header: 'state', keep: true },
            { header: 'why', wrap: true, min: 10 },
            { header: 'last error', wrap: true, min: 12 },
          ],
          shown.map((i) => [
            i.createdAt.replace(/\.\d+Z$/, 'Z'),
            short.get(i.roleArn)!,
            target(i),
            i.state === 'pending' && i.attempts ? `pending (${i.attempts} tries)` : i.state,
            source(i),
            i.lastError,
          ]),
        )}\n`,
      );
      if (intents.length > shown.length)
        process.stdout.write(`… ${intents.length - shown.length} more (raise --limit)\n`);
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
