import { createHash } from 'node:crypto';

/**
 * Show an external ID without revealing it: a short prefix and a hash, so two values can be told apart and matched
 * against the registry, but not copied. AWS says external IDs are not secrets; roleguard still keeps them out of chat.
 */
export function maskExternalId(externalId: string | null): string | null {
  if (externalId === null) return null;
  const hash = createHash('sha256').update(externalId).digest('hex').slice(0, 8);
  return `${externalId.slice(0, Math.min(4, Math.floor(externalId.length / 3)))}…#${hash}`;
}
