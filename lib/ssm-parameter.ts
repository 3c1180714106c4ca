import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

/**
 * A read of an SSM parameter failed; the SDK's error is its `cause`. Named as Powertools' parameters utility names
 * it, which the functions used before this module (its provider added 12 KiB and a module init to every cold start).
 */
export class GetParameterError extends Error {
  override name = 'GetParameterError';
}

// Built at the first read (no call at module scope, so that a function that reads no parameter bundles no SSM client).
let client: SSMClient | null = null;
const cache = new Map<string, { value: string; expiresAt: number }>();

/**
 * Read a SecureString parameter, decrypted (GetParameter WithDecryption): a value read less than `maxAgeSeconds` ago
 * is reused, so a warm function reads it once per period; a failed or empty read is not cached. The SSM client is
 * built at the first read.
 */
export async function getSecureParameter(name: string, maxAgeSeconds: number): Promise<string | undefined> {
  const cached = cache.get(name);
  if (cached && cached.expiresAt >= Date.now()) return cached.value;
  let value: string | undefined;
  client ??= new SSMClient({});
  try {
    value = (await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter?.Value;
  } catch (error) {
    throw new GetParameterError((error as Error).message, { cause: error });
  }
  if (value === undefined || value === null) return undefined;
  if (maxAgeSeconds > 0) cache.set(name, { value, expiresAt: Date.now() + maxAgeSeconds * 1000 });
  return value;
}

/** Read through this client from now on (null: the default one again), with nothing cached; the bench counts calls. */
export function useSsmClient(ssm: SSMClient | null): void {
  client = ssm;
  cache.clear();
}
