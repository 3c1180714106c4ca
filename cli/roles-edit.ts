import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { parseRoleArn } from '../lib/cloudtrail/arn.js';
import {
  diffRegistries,
  formatRegistryDiff,
  type RegistryDiff,
  registryDiffJson,
  roleKey,
} from '../lib/registry/diff.js';
import {
  createRegistryStore,
  type Registry,
  RegistryConflictError,
  RegistryError,
  registryToDocument,
  validateRegistry,
} from '../lib/registry/index.js';
import { EXIT } from './exit-codes.js';
import { addStoreOptions, type LocalStore, noteInMemory, openLocalStore, type StoreFlags } from './local-store.js';

interface EditFlags extends StoreFlags {
  dryRun?: boolean;
  json?: boolean;
}

/** `roleguard roles add FILE` and `roleguard roles remove ARN…`: onboard or offboard one vendor. */
export function registerRoleEdits(roles: Command): void {
  const add = roles
    .command('add')
    .description('Register the roles of a file (one role, a list of roles, or a registry file with roles: only)')
    .argument('<file>', 'YAML or JSON: one role entry as in the registry file, or roles: [...]')
    .option('--dry-run', 'validate and show the diff; write nothing')
    .option('--json', 'print the result as JSON');
  addStoreOptions(add)
    .addHelpText(
      'after',
      `
Examples:
  roleguard roles add examplecorp.yaml --stage prod --region eu-west-1
  roleguard roles add examplecorp.yaml --data-dir ~/.roleguard --dry-run

A role already registered is refused (change it with roles import, or remove it first).
Exit status: 0 added (or valid in --dry-run), 2 invalid input or already registered, 1 the store failed or
the registry changed while the command ran (run it again).`,
    )
    .action(async (file: string, flags: EditFlags) => {
      process.exitCode = await addRoles(file, flags);
    });
  const remove = roles
    .command('remove')
    .description('Stop guarding roles: remove them from the registry (IAM is not touched)')
    .argument('<arn...>', 'role ARNs, as registered')
    .option('--dry-run', 'show the diff; write nothing')
    .option('--json', 'print the result as JSON');
  addStoreOptions(remove)
    .addHelpText(
      'after',
      `
Examples:
  roleguard roles remove arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit --stage prod

Exit status: 0 removed (or shown in --dry-run), 2 not a role ARN or not registered, 1 the store failed or the
registry changed while the command ran (run it again).`,
    )
    .action(async (arns: string[], flags: EditFlags) => {
      process.exitCode = await removeRoles(arns, flags);
    });
}

/** What an edit says when another edit landed between its read and its write. */
export const REGISTRY_CHANGED = 'the registry changed since it was read; nothing was written; run the command again';

const plural = (n: number) => `${n} ${n === 1 ? 'role' : 'roles'}`;

async function readRolesFile(path: string): Promise<Registry | string> {
  let document: unknown;
  try {
    document = parseYaml(await readFile(path, 'utf8'), { maxAliasCount: 100 });
  } catch (error) {
    return `${path}: ${(error as NodeJS.ErrnoException).code ?? `not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`}`;
  }
  const wrapped = Array.isArray(document)
    ? { roles: document }
    : document && typeof document === 'object' && 'roleArn' in document
      ? { roles: [document] }
      : document;
  try {
    const registry = validateRegistry(wrapped, path);
    if (registry.serviceRoleArns.length || registry.protectedRoleArns.length)
      return `${path}: roles add takes roles only; set serviceRoleArns and protectedRoleArns with roles import`;
    if (registry.roles.length === 0) return `${path}: no role to add`;
    return registry;
  } catch (error) {
    if (error instanceof RegistryError) return error.message;
    throw error;
  }
}

/** Write the edited registry (unless a dry run), only if the registry is still the version it was based on. */
async function commit(
  command: string,
  store: LocalStore,
  edit: { next: Registry; diff: RegistryDiff; basedOn: string | null },
  flags: EditFlags,
): Promise<number> {
  const { next, diff } = edit;
  let version: string | null = null;
  try {
    if (!flags.dryRun)
      version = await createRegistryStore(store.dynamo, store.tables.registry).replace(next, {
        expectedVersion: edit.basedOn,
      });
  } catch (error) {
    if (!(error instanceof RegistryConflictError)) throw error;
    process.stderr.write(`roleguard ${command}: ${REGISTRY_CHANGED}\n`);
    return EXIT.failed;
  }
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ written: !flags.dryRun, version, roles: next.roles.length, diff: registryDiffJson(diff) }, null, 2)}\n`,
    );
    return EXIT.ok;
  }
  process.stdout.write(`${formatRegistryDiff(diff).join('\n')}\n`);
  process.stdout.write(
    flags.dryRun
      ? `dry run: nothing written; ${store.tables.registry} would hold ${plural(next.roles.length)}\n`
      : `${command}: ${store.tables.registry} (${store.endpoint}) now holds ${plural(next.roles.length)}, version ${version}\n`,
  );
  return EXIT.ok;
}

async function addRoles(file: string, flags: EditFlags): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`roleguard roles add: ${message}\n`);
    return EXIT.usage;
  };
  const adding = await readRolesFile(file);
  if (typeof adding === 'string') return fail(adding);
  const store = await openLocalStore(flags);
  try {
    noteInMemory(store, 'roles add', 'the role is added to an empty registry and is not kept');
    const { registry: stored, version: basedOn } = await createRegistryStore(
      store.dynamo,
      store.tables.registry,
    ).loadVersioned();
    const known = new Set(stored.roles.map((r) => roleKey(r.roleArn)));
    const already = adding.roles.filter((r) => known.has(roleKey(r.roleArn)));
    if (already.length)
      return fail(
        `already registered: ${already.map((r) => r.roleArn).join(', ')}; change ${already.length === 1 ? 'it' : 'them'} with roles import, or roles remove ${already.length === 1 ? 'it' : 'them'} first`,
      );
    let next: Registry;
    try {
      next = validateRegistry(
        registryToDocument({ ...stored, roles: [...stored.roles, ...adding.roles] }),
        `${file} (added to the registry)`,
      );
    } catch (error) {
      if (error instanceof RegistryError) return fail(error.message);
      throw error;
    }
    return await commit('roles add', store, { next, diff: diffRegistries(stored, next), basedOn }, flags);
  } finally {
    await store.close();
  }
}

async function removeRoles(arns: string[], flags: EditFlags): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`roleguard roles remove: ${message}\n`);
    return EXIT.usage;
  };
  const bad = arns.filter((a) => !parseRoleArn(a));
  if (bad.length) return fail(`not a role ARN: ${bad.join(', ')}`);
  const store = await openLocalStore(flags);
  try {
    noteInMemory(store, 'roles remove', 'no role is registered in it');
    const { registry: stored, version: basedOn } = await createRegistryStore(
      store.dynamo,
      store.tables.registry,
    ).loadVersioned();
    const keys = new Set(arns.map(roleKey));
    const registered = new Set(stored.roles.map((r) => roleKey(r.roleArn)));
    const missing = arns.filter((a) => !registered.has(roleKey(a)));
    if (missing.length) return fail(`not registered: ${missing.join(', ')}; roleguard roles list shows what is`);
    const next = { ...stored, roles: stored.roles.filter((r) => !keys.has(roleKey(r.roleArn))) };
    return await commit('roles remove', store, { next, diff: diffRegistries(stored, next), basedOn }, flags);
  } finally {
    await store.close();
  }
}
