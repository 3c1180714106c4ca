import type { Command } from 'commander';
import type { StoredAlert } from '../lib/alert/outbox.js';
import { parseRoleArn } from '../lib/cloudtrail/arn.js';
import { roleKey } from '../lib/registry/diff.js';
import { EXIT } from './exit-codes.js';
import { addStoreOptions, noteInMemory, openLocalStore, type StoreFlags } from './local-store.js';
import { scanByPrefix } from './scan.js';
import { parseTimeFlag } from './sessions-command.js';
import { renderTable, shortRoleNames } from './table.js';

interface FindingsFlags extends StoreFlags {
  role?: string;
  kind?: string;
  since?: string;
  limit: string;
  json?: boolean;
}

/** `roleguard findings`: the findings a store holds (one per alert; repeats merged into it are counted). */
export function registerFindings(program: Command): void {
  const command = program
    .command('findings')
    .description('List the findings the store holds (the alert outbox): newest first, with repeats counted')
    .option('--role <arn>', 'findings about this role')
    .option('--kind <kind>', 'only this kind, e.g. missing-external-id')
    .option('--since <time>', 'seen at or after: an ISO time, or an age such as 30m, 12h, 7d')
    .option('--limit <n>', 'show at most this many, newest first', '200')
    .option('--json', 'print the findings as one JSON array');
  addStoreOptions(command)
    .addHelpText(
      'after',
      `
Examples:
  roleguard findings --stage prod --since 7d
  roleguard findings --data-dir ~/.roleguard --kind missing-external-id --json

Each row is one alert: the first finding, and how many repeats were merged into it. External IDs are
masked. A dry run's findings are listed too, marked "dry run".
Exit status: 0 listed (also when there is none), 2 bad arguments, 1 the store failed.`,
    )
    .action(async (flags: FindingsFlags) => {
      process.exitCode = await findings(flags);
    });
}

async function findings(flags: FindingsFlags): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`roleguard findings: ${message}\n`);
    return EXIT.usage;
  };
  if (flags.role && !parseRoleArn(flags.role)) return fail(`--role is not a role ARN: ${flags.role}`);
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000)
    return fail('--limit must be a whole number from 1 to 100000');
  const since = flags.since ? parseTimeFlag(flags.since, new Date()) : undefined;
  if (since === null) return fail(`--since is neither an ISO time nor an age like 12h: ${flags.since}`);
  const store = await openLocalStore(flags);
  try {
    noteInMemory(store, 'findings', 'it holds no finding');
    const alerts = (await scanByPrefix(store.dynamo, store.tables.alerts, 'alert#'))
      .map((i) => i.alert as StoredAlert)
      .filter(
        (a) =>
          (!flags.role || roleKey(a.finding.roleArn) === roleKey(flags.role)) &&
          (!flags.kind || a.finding.kind === flags.kind) &&
          (!since || Date.parse(a.lastAt) >= Date.parse(since)),
      )
      .sort((a, b) => Date.parse(b.firstAt) - Date.parse(a.firstAt));
    const shown = alerts.slice(0, limit).map((a) => ({
      ...a.finding,
      alertId: a.alertId,
      count: a.count,
      firstAt: a.firstAt,
      lastAt: a.lastAt,
      action: a.action,
      nextStep: a.nextStep,
      delivery: a.dryRun ? 'dry-run' : a.state,
    }));
    if (flags.json) process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
    else if (shown.length === 0) process.stdout.write('No finding.\n');
    else {
      const short = shortRoleNames(shown.map((f) => f.roleArn));
      process.stdout.write(
        `${renderTable(
          [
            { header: 'seen (UTC)', keep: true },
            { header: 'severity', keep: true },
            { header: 'kind', wrap: true, min: 12 },
            { header: 'role', keep: true },
            { header: 'count', keep: true },
            { header: 'what happened', wrap: true, min: 24 },
            { header: 'alert', keep: true, optional: true },
          ],
          shown.map((f) => [
            f.firstAt,
            f.severity,
            f.kind,
            short.get(f.roleArn)!,
            f.count,
            f.message,
            f.delivery === 'dry-run' ? 'dry run' : f.delivery,
          ]),
        )}\n`,
      );
      if (alerts.length > shown.length)
        process.stdout.write(`… ${alerts.length - shown.length} more (raise --limit)\n`);
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
