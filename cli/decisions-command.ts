import type { Command } from 'commander';
import { ensureTable } from '../lib/local/tables.js';
import { createDecisionStore, decisionsTableDefinition } from '../lib/slack-actions/index.js';
import { EXIT } from './exit-codes.js';
import { addStoreOptions, openLocalStore, type StoreFlags } from './local-store.js';
import { parseTimeFlag } from './sessions-command.js';
import { renderTable } from './table.js';

interface DecisionsFlags extends StoreFlags {
  since?: string;
  limit: string;
  json?: boolean;
}

/** The decisions table beside the other tables: `roleguard-<stage>-decisions`, `<table>-decisions`, or the local one. */
export function decisionsTableName(flags: StoreFlags): string {
  if (flags.table) return `${flags.table}-decisions`;
  return `${flags.stage ? `roleguard-${flags.stage}` : 'roleguard-local'}-decisions`;
}

/** `roleguard decisions`: the audit trail of what people did from Slack's buttons. */
export function registerDecisions(program: Command): void {
  const command = program
    .command('decisions')
    .description('List what was decided from Slack: who, what, when, the finding, the outcome (newest first)')
    .option('--since <time>', 'decided at or after: an ISO time, or an age such as 30m, 12h, 7d')
    .option('--limit <n>', 'show at most this many', '100')
    .option('--json', 'print the decisions as one JSON array');
  addStoreOptions(command)
    .addHelpText(
      'after',
      `
Examples:
  roleguard decisions --stage prod
  roleguard decisions --since 7d --json --stage prod

Refused clicks (someone who is not an approver, a finding roleguard does not know, a protected role) are listed
too, with the reason. See docs/slack-app.md for the Slack app.
Exit status: 0 listed (also when there are none), 2 bad arguments, 1 the store failed.`,
    )
    .action(async (flags: DecisionsFlags) => {
      process.exitCode = await decisions(flags);
    });
}

async function decisions(flags: DecisionsFlags): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`roleguard decisions: ${message}\n`);
    return EXIT.usage;
  };
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
    return fail('--limit must be a whole number from 1 to 100000');
  const since = flags.since ? parseTimeFlag(flags.since, new Date()) : undefined;
  if (since === null) return fail(`--since is neither an ISO time nor an age like 12h: ${flags.since}`);
  const store = await openLocalStore(flags);
  try {
    const table = decisionsTableName(flags);
    if (!store.deployed) await ensureTable(store.dynamo, decisionsTableDefinition(table));
    const found = await createDecisionStore(store.dynamo, table).list({ limit, ...(since ? { since } : {}) });
    if (flags.json) process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
    else if (found.length === 0) process.stdout.write('No decision recorded.\n');
    else
      process.stdout.write(
        `${renderTable(
          ['when', 'who', 'what', 'finding', 'role', 'status', 'outcome'],
          found.map((d) => [
            d.at,
            d.userName ? `${d.userName} (${d.userId})` : d.userId,
            d.action,
            d.findingKind ? `${d.findingKind} ${d.alertId}` : d.alertId,
            d.roleArn,
            d.dryRun ? `${d.status} (dry run)` : d.status,
            d.outcome,
          ]),
          60,
        )}\n`,
      );
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
