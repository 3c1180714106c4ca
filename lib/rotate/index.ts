import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Registry } from '../registry/types.js';
import { acquireLock } from '../revoke/lock.js';
import { protectedReason } from '../revoke/respond.js';
import type { RotationDeps, RotationNotifier, TrustPolicyIo } from './machine.js';
import { createRotationStore } from './store.js';

export { advanceRotation, finishRotation, nextRotationDue, rollbackRotation, runRotationSchedule, startRotation, RotationRefused, DEFAULT_GRACE_DAYS, type RotationDeps, type RotationNotice, type RotationNotifier, type RotationResult, type TrustPolicyIo } from './machine.js';
export { createRotationStore, IN_FLIGHT, RotationConflict, type Rotation, type RotationPhase, type RotationStore } from './store.js';
export { withRotations } from './overlay.js';
export { iamTrustPolicyIo, rotationNotifier, formatVendorNotice } from './live.js';
export { revokeOldSessionsWith } from './revoke-old.js';

/** How long a rotation step may hold a role's lock (a crashed holder blocks the role at most this long). */
export const ROTATION_LEASE_MS = 60_000;

/** The rotation deps over the registry table: its store, the per-role lock (in the same table), protected roles refused. */
export function rotationDeps(options: {
  dynamo: DynamoDBDocumentClient;
  registryTable: string;
  registry: Registry;
  ownRoleArns: string[];
  trust: TrustPolicyIo;
  notifier: RotationNotifier;
  logger: Logger;
  idLength: number;
  maxTrustPolicySize: number;
  dryRun: boolean;
  revokeOldSessions?: RotationDeps['revokeOldSessions'];
  lockWaitMs?: number;
}): RotationDeps {
  return {
    store: createRotationStore(options.dynamo, options.registryTable),
    trust: options.trust,
    notifier: options.notifier,
    lock: (roleArn) => acquireLock(options.dynamo, options.registryTable, `rotation#${roleArn}`, { leaseMs: ROTATION_LEASE_MS, waitMs: options.lockWaitMs ?? 30_000, sortKey: 'lock' }),
    logger: options.logger,
    idLength: options.idLength,
    maxTrustPolicySize: options.maxTrustPolicySize,
    dryRun: options.dryRun,
    refuse: (roleArn) => protectedReason(roleArn, options.registry, options.ownRoleArns),
    ...(options.revokeOldSessions ? { revokeOldSessions: options.revokeOldSessions } : {}),
  };
}
