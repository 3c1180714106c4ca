import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { maskExternalId } from '../lib/redact.js';
import {
  type AuthorizationDetailsImport,
  registryFromAuthorizationDetails,
} from '../lib/registry/authorization-details.js';
import { createRegistryStore, type Registry, RegistryError, validateRegistry } from '../lib/registry/index.js';
import { EXIT } from './exit-codes.js';
import { addStoreOptions, openLocalStore, type StoreFlags } from './local-store.js';
import { readRegistryFile } from './registry-file.js';
import { renderTable } from './table.js';

interface ImportFlags extends StoreFlags {
  registry?: string;
  authorizationDetails?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** `roleguard roles import` and `roleguard roles list`. */
export function registerRoles(program: Command): void {
  const roles = program.command('roles').description('The registry of guarded roles: import it, list it');
  const importCommand = roles
    .command('import')
    .description(
      "Replace the registry with a registry file, or derive it from IAM's get-account-authorization-details export",
    )
    .option('--registry <file>', 'registry file (YAML or JSON, contract §1)')
    .option('--authorization-details <file>', 'output of `aws iam get-account-authorization-details` (JSON)')
    .option('--dry-run', 'validate and show what would be imported (as a registry file), write nothing')
    .option('--json', 'print the result as JSON');
  addStoreOptions(importCommand)
    .addHelpText(
      'after',
      `
Examples:
  roleguard roles import --registry registry.yaml --stage prod --region eu-west-1
  aws iam get-account-authorization-details --filter Role > auth.json
  roleguard roles import --authorization-details auth.json --dry-run > registry.yaml

The import is all or nothing: an invalid registry is refused with every problem named (file, role,
field) and the registry in place stays as it was. With --authorization-details, vendor names,
responses, rotation settings, retired IDs and service/protected ARNs already registered are kept.
Exit status: 0 imported (or valid in --dry-run), 2 invalid input, 1 the store failed.`,
    )
    .action(async (flags: ImportFlags) => {
      process.exitCode = await importRoles(flags);
    });
  const list = roles
    .command('list')
    .description('Show the registered roles')
    .option('--json', 'print the registry as JSON');
  addStoreOptions(list)
    .addHelpText(
      'after',
      `
Examples:
  roleguard roles list --stage prod --region eu-west-1
  roleguard roles list --endpoint http://127.0.0.1:8000 --json

External IDs are shown masked (a prefix and a hash), also with --json.`,
    )
    .action(async (flags: StoreFlags & { json?: boolean }) => {
      process.exitCode = await listRoles(flags);
    });
}

async function importRoles(flags: ImportFlags): Promise<number> {
  if (Boolean(flags.registry) === Boolean(flags.authorizationDetails)) {
    process.stderr.write(
      'roleguard roles import: give exactly one of --registry FILE or --authorization-details FILE\n',
    );
    return EXIT.usage;
  }
  let registry: Registry;
  let derived: AuthorizationDetailsImport | null = null;
  if (flags.registry) {
    const loaded = await readRegistryFile(flags.registry);
    if ('error' in loaded) {
      process.stderr.write(`roleguard roles import: ${loaded.error}\n`);
      return EXIT.usage;
    }
    registry = loaded.registry;
  }
  const needsStore = !flags.dryRun || Boolean(flags.authorizationDetails);
  const store = needsStore ? await openLocalStore(flags) : null;
  try {
    const registryStore = store ? createRegistryStore(store.dynamo, store.tables.registry) : null;
    if (flags.authorizationDetails) {
      let document: unknown;
      try {
        document = JSON.parse(await readFile(flags.authorizationDetails, 'utf8'));
      } catch (error) {
        process.stderr.write(
          `roleguard roles import: ${flags.authorizationDetails}: not readable JSON: ${(error as Error).message}\n`,
        );
        return EXIT.usage;
      }
      try {
        derived = registryFromAuthorizationDetails(document, flags.authorizationDetails, await registryStore!.load());
        registry = validateRegistry(derived.registry, `${flags.authorizationDetails} (derived registry)`);
      } catch (error) {
        if (!(error instanceof RegistryError)) throw error;
        process.stderr.write(`roleguard roles import: ${error.message}\n`);
        return EXIT.usage;
      }
    }
    const version = flags.dryRun ? null : await registryStore!.replace(registry!);
    if (flags.json) {
      process.stdout.write(
        `${JSON.stringify({ imported: !flags.dryRun, version, roles: registry!.roles.length, notes: derived?.notes ?? [], notCrossAccount: derived?.notCrossAccount ?? null }, null, 2)}\n`,
      );
    } else {
      if (derived) {
        for (const note of derived.notes) {
          process.stderr.write(
            `${note.outcome === 'skipped' ? 'not registered' : 'registered with caveats'}: ${note.roleArn}: ${note.message}\n`,
          );
          for (const p of note.problems) process.stderr.write(`    ${p.severity} ${p.kind}: ${p.message}\n`);
        }
        process.stderr.write(
          `${registry!.roles.length} vendor ${registry!.roles.length === 1 ? 'role' : 'roles'} derived; ${derived.notCrossAccount} roles trust no other account and were left out\n`,
        );
      }
      if (flags.dryRun) {
        // A registry file the user can review and import; external IDs appear in full here because the file is the registry.
        process.stdout.write(
          derived
            ? toYaml(registry!)
            : `${flags.registry}: valid; ${registry!.roles.length} guarded ${registry!.roles.length === 1 ? 'role' : 'roles'} (dry run: nothing written)\n`,
        );
      } else {
        process.stdout.write(
          `imported ${registry!.roles.length} guarded ${registry!.roles.length === 1 ? 'role' : 'roles'} into ${store!.tables.registry} (${store!.endpoint}) as version ${version}\n`,
        );
        if (store!.embedded)
          process.stderr.write(
            'note: the embedded DynamoDB Local is discarded when the command ends; use --endpoint or --stage to keep the registry\n',
          );
      }
    }
    return EXIT.ok;
  } finally {
    await store?.close();
  }
}

async function listRoles(flags: StoreFlags & { json?: boolean }): Promise<number> {
  const store = await openLocalStore(flags);
  try {
    const registry = await createRegistryStore(store.dynamo, store.tables.registry).load();
    const masked = registry.roles.map((r) => ({
      ...r,
      externalIds: {
        current: maskExternalId(r.externalIds.current),
        pending: maskExternalId(r.externalIds.pending),
        retired: r.externalIds.retired.map((id) => maskExternalId(id)),
      },
    }));
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ ...registry, roles: masked }, null, 2)}\n`);
      return EXIT.ok;
    }
    process.stdout.write(
      `${registry.roles.length} guarded ${registry.roles.length === 1 ? 'role' : 'roles'} in ${store.tables.registry} (${store.endpoint})\n`,
    );
    if (registry.roles.length) {
      process.stdout.write(
        `${renderTable(
          ['role', 'vendor', 'trusted accounts', 'current id', 'pending id', 'retired', 'response', 'rotation'],
          masked.map((r) => [
            r.roleArn,
            r.vendor,
            r.trustedAccounts.join(' '),
            r.externalIds.current,
            r.externalIds.pending,
            r.externalIds.retired.length,
            r.dryRun ? `${r.response} (dry run)` : r.response,
            r.rotation ? `every ${r.rotation.everyDays}d, grace ${r.rotation.graceDays}d` : null,
          ]),
          70,
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
