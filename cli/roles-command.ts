import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { AccountsImport } from '../lib/registry/account-import.js';
import {
  type AuthorizationDetailsImport,
  registryFromAuthorizationDetails,
} from '../lib/registry/authorization-details.js';
import { diffRegistries, formatRegistryDiff, registryDiffJson } from '../lib/registry/diff.js';
import {
  createRegistryStore,
  type Registry,
  RegistryConflictError,
  RegistryError,
  registryToDocument,
  validateRegistry,
} from '../lib/registry/index.js';
import { EXIT } from './exit-codes.js';
import { addStoreOptions, noteInMemory, openLocalStore, type StoreFlags } from './local-store.js';
import { readRegistryFile } from './registry-file.js';
import { type AccountsFlags, accountsSummary, deriveFromAccounts } from './roles-accounts.js';
import { REGISTRY_CHANGED, registerRoleEdits } from './roles-edit.js';
import { listRoles } from './roles-list.js';

interface ImportFlags extends StoreFlags, AccountsFlags {
  registry?: string;
  authorizationDetails?: string;
  dryRun?: boolean;
  replace?: boolean;
  json?: boolean;
}

/** `roleguard roles import` and `roleguard roles list`. */
export function registerRoles(program: Command): void {
  const roles = program
    .command('roles')
    .description('The registry of guarded roles: import it, list it, add or remove one role');
  const importCommand = roles
    .command('import')
    .description(
      "Replace the registry with a registry file, or derive it from IAM's get-account-authorization-details export",
    )
    .option('--registry <file>', 'registry file (YAML or JSON; see docs/registry.md)')
    .option('--authorization-details <file>', 'output of `aws iam get-account-authorization-details` (JSON)')
    .option(
      '--org',
      'read every ACTIVE account of the organization (each through its spoke role); only their roles change',
    )
    .option(
      '--account <id>',
      "read one account (live, or its --authorization-details export); only that account's roles change",
    )
    .option(
      '--spoke-role <name>',
      "the role read in the member accounts (default: the read-only roleguard-<stage>-spoke-read, which trusts the hub's roles and the global spoke's OperatorPrincipalArns)",
    )
    .option(
      '--dry-run',
      'validate and show the diff against the stored registry (and, from IAM, the registry file); write nothing',
    )
    .option('--replace', 'allow the import to remove registered roles the file does not list')
    .option('--json', 'print the result as JSON');
  addStoreOptions(importCommand)
    .addHelpText(
      'after',
      `
Examples:
  roleguard roles import --registry registry.yaml --stage prod --region eu-west-1
  aws iam get-account-authorization-details --filter Role > auth.json
  roleguard roles import --authorization-details auth.json --dry-run > registry.yaml
  roleguard roles import --org --stage prod --region eu-west-1 --dry-run
  roleguard roles import --account 222233334444 --stage prod --region eu-west-1

The import prints what changes against the stored registry: roles added (+), removed (-) and changed (~).
It refuses to remove registered roles unless --replace is given; use roles add FILE and roles remove ARN
to onboard or offboard one vendor. The import is all or nothing: an invalid registry is refused with every
problem named (file, role, field) and the registry in place stays as it was. With --authorization-details,
vendor names, responses, dryRun, rotation settings, retired IDs, approvers and service/protected ARNs already
registered are kept, and a role that requires no external ID is registered in watch mode (externalIds: none).
With --org or --account, only the roles of the accounts read are replaced; every other account's roles stay.
The account of the credentials is read directly, any other through its read-only spoke role
roleguard-<stage>-spoke-read (session roleguard-import), which trusts roleguard's hub roles and the principals in
the global spoke's OperatorPrincipalArns parameter (the hub's --param spokeOperatorPrincipals): add the ARN of the
role you run as there. --org lists the accounts with
Organizations ListAccounts (management account or delegated administrator). An account that cannot be read is
named with the reason and keeps its registered roles.
Exit status: 0 imported (or valid in --dry-run), 2 invalid input or roles would be removed without
--replace, 1 the store failed, the registry changed while the command ran (run it again), or an account
could not be read (the others were imported).`,
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
  registerRoleEdits(roles);
}

async function importRoles(flags: ImportFlags): Promise<number> {
  const accounts = Boolean(flags.org || flags.account);
  const usage = (message: string) => {
    process.stderr.write(`roleguard roles import: ${message}\n`);
    return EXIT.usage;
  };
  if (Boolean(flags.registry) === Boolean(flags.authorizationDetails || accounts))
    return usage('give exactly one of --registry FILE, --authorization-details FILE, --org or --account ID');
  if (flags.org && (flags.account || flags.authorizationDetails))
    return usage(
      '--org reads every account live; for one account give --account ID (and its export with --authorization-details FILE)',
    );
  if (flags.account !== undefined && !/^\d{12}$/.test(flags.account))
    return usage(`--account must be a 12-digit account id, got ${JSON.stringify(flags.account)}`);
  let registry: Registry;
  let derived: AuthorizationDetailsImport | null = null;
  let fromAccounts: AccountsImport | null = null;
  let document: unknown;
  if (flags.registry) {
    const loaded = await readRegistryFile(flags.registry);
    if ('error' in loaded) {
      process.stderr.write(`roleguard roles import: ${loaded.error}\n`);
      return EXIT.usage;
    }
    registry = loaded.registry;
  } else if (flags.authorizationDetails) {
    try {
      document = JSON.parse(await readFile(flags.authorizationDetails, 'utf8'));
    } catch (error) {
      process.stderr.write(
        `roleguard roles import: ${flags.authorizationDetails}: not readable JSON: ${(error as Error).message}\n`,
      );
      return EXIT.usage;
    }
  }
  // The store is read even in a dry run: the diff is against what is registered now.
  const store = await openLocalStore(flags);
  try {
    noteInMemory(store, 'roles import', 'the diff is against an empty registry and nothing imported is kept');
    const registryStore = createRegistryStore(store.dynamo, store.tables.registry);
    // The diff and the --replace check are against this read; the write happens only if the registry is still it.
    const { registry: stored, version: storedVersion } = await registryStore.loadVersioned();
    if (accounts) {
      const out = await deriveFromAccounts(flags, stored, flags.authorizationDetails ? document : undefined);
      if ('error' in out) {
        process.stderr.write(`roleguard roles import: ${out.error}\n`);
        return out.code;
      }
      derived = fromAccounts = out.derived;
      for (const line of accountsSummary(out.derived)) process.stderr.write(`${line}\n`);
      if (out.derived.accounts.read.length === 0) {
        process.stderr.write('roleguard roles import: no account could be read; nothing imported\n');
        return EXIT.failed;
      }
      try {
        registry = validateRegistry(registryToDocument(derived.registry), 'the accounts read (derived registry)');
      } catch (error) {
        if (!(error instanceof RegistryError)) throw error;
        process.stderr.write(`roleguard roles import: ${error.message}\n`);
        return EXIT.usage;
      }
    } else if (flags.authorizationDetails) {
      try {
        derived = registryFromAuthorizationDetails(document, flags.authorizationDetails, stored);
        registry = validateRegistry(
          registryToDocument(derived.registry),
          `${flags.authorizationDetails} (derived registry)`,
        );
      } catch (error) {
        if (!(error instanceof RegistryError)) throw error;
        process.stderr.write(`roleguard roles import: ${error.message}\n`);
        return EXIT.usage;
      }
    }
    const accountsFailed = (fromAccounts?.accounts.failed.length ?? 0) > 0;
    const diff = diffRegistries(stored, registry!);
    const refused = diff.removed.length > 0 && !flags.replace;
    const refusal = refused
      ? `refused: this import would remove ${diff.removed.length} registered ${diff.removed.length === 1 ? 'role' : 'roles'} (${diff.removed.map((r) => r.roleArn).join(', ')}); give --replace to remove ${diff.removed.length === 1 ? 'it' : 'them'}, or add ${diff.removed.length === 1 ? 'it' : 'them'} to the file`
      : null;
    // With --json, a refused or overtaken import still prints a JSON document: scripts read stdout, not stderr.
    const jsonResult = (result: Record<string, unknown>) =>
      process.stdout.write(
        `${JSON.stringify({ ...result, roles: registry!.roles.length, diff: registryDiffJson(diff), notes: derived?.notes ?? [], notCrossAccount: derived?.notCrossAccount ?? null, ...(fromAccounts ? { accounts: fromAccounts.accounts } : {}) }, null, 2)}\n`,
      );
    if (refusal && !flags.dryRun) {
      process.stderr.write(`${formatRegistryDiff(diff).join('\n')}\nroleguard roles import: ${refusal}\n`);
      if (flags.json) jsonResult({ imported: false, version: null, refused: refusal });
      return EXIT.usage;
    }
    let version: string | null = null;
    try {
      if (!flags.dryRun) version = await registryStore.replace(registry!, { expectedVersion: storedVersion });
    } catch (error) {
      if (!(error instanceof RegistryConflictError)) throw error;
      process.stderr.write(`roleguard roles import: ${REGISTRY_CHANGED}\n`);
      if (flags.json) jsonResult({ imported: false, version: null, error: REGISTRY_CHANGED });
      return EXIT.failed;
    }
    const count = `${registry!.roles.length} guarded ${registry!.roles.length === 1 ? 'role' : 'roles'}`;
    if (flags.json) {
      jsonResult({ imported: !flags.dryRun, version, wouldBeRefused: refusal });
      return accountsFailed ? EXIT.failed : EXIT.ok;
    }
    if (derived) {
      const label = {
        skipped: 'not registered',
        watch: 'registered in watch mode',
        registered: 'registered with caveats',
      };
      for (const note of derived.notes) {
        process.stderr.write(`${label[note.outcome]}: ${note.roleArn}: ${note.message}\n`);
        for (const p of note.problems) process.stderr.write(`    ${p.severity} ${p.kind}: ${p.message}\n`);
      }
      const watched = derived.notes.filter((n) => n.outcome === 'watch').length;
      // From accounts: the roles derived from them, not the whole registry (the other accounts' roles were kept).
      const n = fromAccounts ? fromAccounts.accounts.read.reduce((sum, r) => sum + r.roles, 0) : registry!.roles.length;
      process.stderr.write(
        `${n} vendor ${n === 1 ? 'role' : 'roles'} derived${watched ? ` (${watched} in watch mode: no external ID required)` : ''}; ${derived.notCrossAccount} roles trust no other account and were left out${derived.orgInternal ? `; ${derived.orgInternal} organization-internal ${derived.orgInternal === 1 ? 'role was' : 'roles were'} skipped (they trust only the organization's accounts, or are its Organizations, Control Tower or StackSets roles)` : ''}\n`,
      );
    }
    // With --authorization-details --dry-run, stdout is the registry file to review; the diff goes to stderr.
    const diffOut = derived && flags.dryRun ? process.stderr : process.stdout;
    diffOut.write(`${formatRegistryDiff(diff).join('\n')}\n`);
    if (refusal) diffOut.write(`dry run: the import would be ${refusal}\n`);
    if (flags.dryRun) {
      // A registry file the user can review and import; external IDs appear in full here because the file is the registry.
      process.stdout.write(
        derived
          ? toYaml(registryToDocument(registry!))
          : `${flags.registry}: valid; ${count} (dry run: nothing written)\n`,
      );
    } else
      process.stdout.write(
        `imported ${count} into ${store.tables.registry} (${store.endpoint}) as version ${version}\n`,
      );
    // The accounts read were imported; one that failed is named above, and the exit status says so.
    return accountsFailed ? EXIT.failed : EXIT.ok;
  } finally {
    await store.close();
  }
}
