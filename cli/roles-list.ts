import { maskExternalId } from '../lib/redact.js';
import { createRegistryStore, roleToDocument } from '../lib/registry/index.js';
import { EXIT } from './exit-codes.js';
import { noteInMemory, openLocalStore, type StoreFlags } from './local-store.js';
import { renderTable, shortRoleNames } from './table.js';

/** `roleguard roles list`: the registered roles, IDs masked; watch-mode roles shown as such. */
export async function listRoles(flags: StoreFlags & { json?: boolean }): Promise<number> {
  const store = await openLocalStore(flags);
  try {
    noteInMemory(store, 'roles list', 'no role is registered in it');
    const registry = await createRegistryStore(store.dynamo, store.tables.registry).load();
    const masked = registry.roles.map((r) =>
      r.noExternalId
        ? roleToDocument(r)
        : {
            ...r,
            externalIds: {
              current: maskExternalId(r.externalIds.current),
              pending: maskExternalId(r.externalIds.pending),
              retired: r.externalIds.retired.map((id) => maskExternalId(id)),
            },
          },
    );
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ ...registry, roles: masked }, null, 2)}\n`);
      return EXIT.ok;
    }
    process.stdout.write(
      `${registry.roles.length} guarded ${registry.roles.length === 1 ? 'role' : 'roles'} in ${store.tables.registry} (${store.endpoint})\n`,
    );
    if (registry.roles.length) {
      // Short role names when they are unambiguous; --json has the full ARNs.
      const short = shortRoleNames(registry.roles.map((r) => r.roleArn));
      process.stdout.write(
        `${renderTable(
          [
            { header: 'role', keep: true },
            { header: 'vendor', wrap: true, min: 12 },
            { header: 'trusted accounts', wrap: true, min: 12 },
            { header: 'current id', keep: true },
            { header: 'pending id', keep: true },
            'retired',
            { header: 'response', keep: true },
            'rotation',
          ],
          registry.roles.map((r) => [
            short.get(r.roleArn)!,
            r.vendor,
            r.trustedAccounts.join(' '),
            r.noExternalId ? 'none (watch mode)' : maskExternalId(r.externalIds.current),
            maskExternalId(r.externalIds.pending),
            r.externalIds.retired.length,
            r.dryRun ? `${r.response} (dry run)` : r.response,
            r.rotation ? `${r.rotation.everyDays}d (grace ${r.rotation.graceDays}d)` : null,
          ]),
        )}\n`,
      );
    }
    if (registry.serviceRoleArns.length)
      process.stdout.write(`service principals: ${registry.serviceRoleArns.join(', ')}\n`);
    if (registry.protectedRoleArns.length)
      process.stdout.write(`protected roles: ${registry.protectedRoleArns.join(', ')}\n`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
