import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerAthena } from './athena-command.js';
import { registerAudit } from './audit-command.js';
import { registerDecisions } from './decisions-command.js';
import { EXIT } from './exit-codes.js';
import { registerFindings } from './findings-command.js';
import { registerOrg } from './org-command.js';
import { registerOrgStatus } from './org-status.js';
import { registerReplay } from './replay-command.js';
import { registerRevocations } from './revocations-command.js';
import { registerRevoke } from './revoke-command.js';
import { registerRoles } from './roles-command.js';
import { registerRotate } from './rotate-command.js';
import { registerSessions } from './sessions-command.js';

/** Build the `roleguard` command. */
export function buildProgram(): Command {
  const program = new Command('roleguard')
    .description(
      'Guard the IAM roles third parties assume: record every STS assume, detect external-ID misuse and trust drift.',
    )
    .version(version(), '-V, --version', 'print the version of roleguard')
    .showHelpAfterError()
    .exitOverride();
  registerReplay(program);
  registerRoles(program);
  registerAudit(program);
  registerSessions(program);
  registerFindings(program);
  registerRevocations(program);
  registerRevoke(program);
  registerRotate(program);
  registerAthena(program);
  registerDecisions(program);
  registerOrgStatus(registerOrg(program));
  return program;
}

// package.json is one level above both cli/main.ts and its bundle, dist/roleguard.js.
function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

/** Run the CLI with the given argv; returns the exit status instead of exiting, so buffered output is flushed. */
export async function main(argv: string[]): Promise<number> {
  process.exitCode = undefined;
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    process.stderr.write(`roleguard: ${(error as Error).message}\n`);
    return EXIT.failed;
  } finally {
    // The commands report through process.exitCode; the caller decides what to do with the returned status, so
    // nothing is left behind for a process that runs main() in-process (tests, embedding).
    process.exitCode = undefined;
  }
}
