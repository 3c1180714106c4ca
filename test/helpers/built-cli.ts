import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './fixtures.js';

/** Build the CLI bundle (dist/roleguard.js) as `npm run build` does. */
export function buildCli(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.js')], { cwd: ROOT });
}

/** An environment with no AWS Region, credentials or profile at all, as on a machine never set up for AWS. */
export function envWithoutAws(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return {
    ...env,
    AWS_CONFIG_FILE: join(ROOT, 'no-such-dir', 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(ROOT, 'no-such-dir', 'credentials'),
    // No instance metadata service to wait for on a test machine.
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

/** Run `node bin/roleguard.js <args…>` as a separate process: its real exit status, stdout and stderr. */
export function runBuiltCli(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin', 'roleguard.js'), ...args], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
