import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { AssumeEvent } from './cloudtrail/types.js';
import type { Deps } from './deps.js';
import type { Finding } from './detect/index.js';
import { isVendorAssume } from './detect/rules.js';
import type { RegisteredRole } from './registry/index.js';
import { callerKey } from './revoke/service.js';
import type { KeptRead } from './revoke/store.js';
import { type Rotation, rotationKey } from './rotate/store.js';

/** What an assume of a registered role needed read, read together; a field is absent when it was not read. */
export interface Prefetched {
  rotation?: Rotation | null;
  revoked?: { decidedAt: string; until: string } | null;
  kept?: KeptRead;
}

/** The kinds whose finding revokes the session that raised it (role re-creation is not the session's doing). */
export const REVOKING_KINDS = new Set<Finding['kind']>([
  'unexpected-external-id',
  'retired-external-id',
  'missing-external-id',
  'untrusted-account',
]);

const TRIES = 5;

/**
 * The reads an assume of a registered role needs, in one BatchGetItem when it needs two or more of them: the role's
 * rotation (an ID other than the current one), the caller's revocation marker (anyone but the vendor itself), and,
 * when the event will likely revoke its session, the role's kept revocations with their version (the revocation's
 * first transaction checks that version, so reading them before its lock is safe). With one or none, nothing is read
 * here and each is read on its own where it is used, as before.
 */
export async function prefetch(
  event: AssumeEvent,
  role: RegisteredRole | null,
  detected: Finding[],
  deps: Deps,
): Promise<Prefetched> {
  if (!role || event.outcome !== 'success') return {};
  const id = event.externalId;
  const caller = callerKey(event);
  const rotation = id !== null && !(id === role.externalIds.current && role.externalIds.pending === null);
  const marker = deps.revocations !== undefined && caller !== null && !isVendorAssume(event, role);
  const kept =
    deps.revocations !== undefined &&
    deps.revoker !== undefined &&
    role.response === 'revoke' &&
    detected.some((f) => f.severity === 'critical' && REVOKING_KINDS.has(f.kind));
  if (Number(rotation) + Number(marker) + Number(kept) < 2) return {};
  const revocations = deps.revocations!;
  const requests: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead: boolean }> = {};
  if (rotation) requests[deps.config.registryTable] = { Keys: [rotationKey(role.roleArn)], ConsistentRead: true };
  const revocationKeys = [
    ...(marker ? [revocations.keys.caller(role.roleArn, caller!)] : []),
    ...(kept ? [revocations.keys.kept(role.roleArn)] : []),
  ];
  if (revocationKeys.length) requests[revocations.tableName] = { Keys: revocationKeys, ConsistentRead: true };
  const items: Record<string, unknown>[] = [];
  let pending: typeof requests | undefined = requests;
  for (let attempt = 1; pending && Object.keys(pending).length; attempt++) {
    if (attempt > TRIES) throw new Error('DynamoDB left keys of a batched read unprocessed; the event will be retried');
    if (attempt > 1) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt * Math.random()));
    const out = await deps.clients.dynamo.send(new BatchGetCommand({ RequestItems: pending }));
    for (const table of Object.values(out.Responses ?? {})) items.push(...table);
    pending = out.UnprocessedKeys as typeof requests | undefined;
  }
  const find = (pk: string, sk?: string) => items.find((i) => i.pk === pk && (sk === undefined || i.sk === sk));
  const result: Prefetched = {};
  if (rotation) {
    const item = find(rotationKey(role.roleArn).pk, role.roleArn);
    result.rotation = item ? (item.rotation as Rotation) : null;
  }
  if (marker) {
    const key = revocations.keys.caller(role.roleArn, caller!).pk;
    result.revoked = revocations.keys.callerOf(find(key), new Date(event.issuedAt));
  }
  if (kept) result.kept = revocations.keys.keptOf(find(revocations.keys.kept(role.roleArn).pk));
  return result;
}
