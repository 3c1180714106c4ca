import { createHash } from 'node:crypto';
import { decodePolicyDocument } from '../trust/policy.js';
import type { Rotation, TrustWrite } from './store.js';

/** How long after roleguard recorded a trust-policy write its CloudTrail event may arrive (CloudTrail delivers within minutes). */
export const OWN_WRITE_WINDOW_MS = 60 * 60_000;

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  return value;
}

/** The sha256 of a policy document as canonical JSON: the same policy however it was spaced, ordered or encoded. */
export function policyHash(document: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(decodePolicyDocument(document))))
    .digest('hex');
}

/**
 * True when an UpdateAssumeRolePolicy is roleguard's own rotation write: the policy of its latest recorded write
 * (recorded before IAM was called), at most an hour later. Whoever made the call (the rotate function, or a person
 * running `roleguard rotate`), the policy is the one roleguard decided on last. An earlier policy written again (for
 * example the both-IDs policy after a rollback) is not covered: it is a change outside roleguard.
 */
export function isOwnTrustWrite(rotation: Rotation | null, policyDocument: unknown, at: string): TrustWrite | null {
  if (!rotation || policyDocument === null || policyDocument === undefined) return null;
  let hash: string;
  try {
    hash = policyHash(policyDocument);
  } catch {
    return null;
  }
  const time = Date.parse(at);
  const last = rotation.writes[rotation.writes.length - 1];
  return last &&
    last.hash === hash &&
    time >= Date.parse(last.at) - 60_000 &&
    time <= Date.parse(last.at) + OWN_WRITE_WINDOW_MS
    ? last
    : null;
}
