import type { Command } from 'commander';
import type { CoverageCell } from '../lib/org/coverage.js';
import { createCoverageStore } from '../lib/org/coverage-store.js';
import { EXIT } from './exit-codes.js';
import { addStoreOptions, noteInMemory, openLocalStore, type StoreFlags } from './local-store.js';
import { renderTable } from './table.js';

interface StatusFlags extends StoreFlags {
  json?: boolean;
  all?: boolean;
}

/** `roleguard org status`: accounts × Regions with the last event seen, the last canary and any gap. */
export function registerOrgStatus(org: Command): void {
  const command = org
    .command('status')
    .description('Show what the hub sees of each account and Region: the last event, the last canary, any coverage gap')
    .option('--all', 'also list accounts and Regions the last account sync no longer expects')
    .option('--json', 'print the status as one JSON document');
  addStoreOptions(command)
    .addHelpText(
      'after',
      `
Examples:
  roleguard org status --stage prod --region eu-west-1 --profile security
  roleguard org status --stage prod --json

The account sync (hourly) lists the organization's accounts and the Regions expected, and compares them with
the spokes the StackSets deployed; the canary (hourly) assumes each account's spoke role in each Region and
expects the event back. A gap names the account and Region and why; see "coverage-gap" in docs/runbook.md.
Exit status: 0 no gap, 3 at least one gap, 2 bad arguments, 1 the store failed.`,
    )
    .action(async (flags: StatusFlags) => {
      process.exitCode = await orgStatus(flags);
    });
}

/** The status of one account × Region, as the JSON document gives it. */
function view(c: CoverageCell) {
  return {
    account: c.account,
    region: c.region,
    expected: c.expected,
    spokes: c.deployStatus,
    syncedAt: c.syncedAt,
    lastEvent: c.lastEventAt ? { at: c.lastEventAt, eventName: c.lastEventName } : null,
    canary: c.canary
      ? {
          id: c.canary.id,
          sentAt: c.canary.sentAt,
          back: c.canary.backId === c.canary.id,
          backAt: c.canary.backId === c.canary.id ? c.canary.backAt : null,
          error: c.canary.error,
        }
      : null,
    gaps: (['deploy', 'canary'] as const).flatMap((source) => {
      const gap = c.gaps[source];
      return gap ? [{ source, openedAt: gap.openedAt, reason: gap.reason }] : [];
    }),
  };
}

/** The canary in words: when it went, and whether it came back. */
function canaryText(v: ReturnType<typeof view>): string {
  const c = v.canary;
  if (!c) return 'none yet';
  if (c.error) return `${c.sentAt} refused`;
  return c.back ? `${c.sentAt} back ${c.backAt}` : `${c.sentAt} not back`;
}

/** Print the status of every account × Region; exit 3 when there is a gap. */
export async function orgStatus(flags: StatusFlags): Promise<number> {
  const store = await openLocalStore(flags);
  try {
    noteInMemory(store, 'org status', 'it holds no coverage state');
    const cells = (await createCoverageStore(store.dynamo, store.tables.registry).list())
      .filter((c) => flags.all || c.expected)
      .sort((a, b) => a.account.localeCompare(b.account) || a.region.localeCompare(b.region));
    const views = cells.map(view);
    const gaps = views.filter((v) => v.gaps.length > 0).length;
    const accounts = new Set(views.map((v) => v.account)).size;
    const regions = new Set(views.map((v) => v.region)).size;
    if (flags.json)
      process.stdout.write(
        `${JSON.stringify({ summary: { accounts, regions, cells: views.length, gaps }, cells: views }, null, 2)}\n`,
      );
    else if (views.length === 0)
      process.stdout.write('No coverage state yet: the account sync has not run (it runs hourly once deployed).\n');
    else {
      process.stdout.write(
        `${renderTable(
          [
            { header: 'account', keep: true },
            { header: 'Region', keep: true },
            { header: 'spokes', min: 7 },
            { header: 'last event (UTC)', min: 20 },
            { header: 'last canary (UTC)', min: 20 },
            { header: 'gap', wrap: true, min: 20 },
          ],
          views.map((v) => [
            v.account,
            v.region,
            v.expected ? v.spokes : `${v.spokes} (not expected)`,
            v.lastEvent ? `${v.lastEvent.at} ${v.lastEvent.eventName}` : 'none seen',
            canaryText(v),
            v.gaps.map((g) => `${g.source} since ${g.openedAt}: ${g.reason}`).join('; ') || null,
          ]),
        )}\n`,
      );
      process.stdout.write(
        `${accounts} account${accounts === 1 ? '' : 's'} × ${regions} Region${regions === 1 ? '' : 's'}: ${gaps === 0 ? 'no gap' : `${gaps} with a coverage gap`}\n`,
      );
    }
    return gaps > 0 ? EXIT.problems : EXIT.ok;
  } finally {
    await store.close();
  }
}
