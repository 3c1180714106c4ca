import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Registry } from '../registry/types.js';
import { acquireLock } from '../revoke/lock.js';
import { protectedReason } from '../revoke/respond.js';
import type { RotationDeps, RotationNotifier, TrustPolicyIo } from './machine.js';
import { createRotationStore } from './store.js';

export { formatVendorNotice, iamTrustPolicyIo, rotationNotifier } from './live.js';
export {
  advanceRotation,
  DEFAULT_GRACE_DAYS,
  finishRotation,
  nextRotationDue,
  type RotationDeps,
  type RotationNotice,
  type RotationNotifier,
  RotationNotQuiet,
  RotationRefused,
  type RotationResult,
  rollbackRotation,
  runRotationSchedule,
  startRotation,
  type TrustPolicyIo,
  UnexpectedExternalIds,
} from './machine.js';
export { withRotations } from './overlay.js';
export {
  DEFAULT_QUIET_HOURS,
  DELIVERY_MARGIN_MS,
  describeOldIdCallers,
  finishableAt,
  oldIdCallersSince,
  quietHoursOf,
  RETIRE_GRACE_MS,
} from './quiet.js';
export { revokeOldSessionsWith } from './revoke-old.js';
export {
  createRotationStore,
  IN_FLIGHT,
  type OldIdCaller,
  type Rotation,
  RotationConflict,
  type RotationPhase,
  type RotationStore,
} from './store.js';

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
  /** Why roleguard does not act in a role's account (no organization), or null: such a role is refused too. */
  otherAccount?: (roleArn: string) => string | null;
}): RotationDeps {
  return {
    store: createRotationStore(options.dynamo, options.registryTable),
    trust: options.trust,
    notifier: options.notifier,
    lock: (roleArn) =>
      acquireLock(options.dynamo, options.registryTable, `rotation#${roleArn}`, {
        leaseMs: ROTATION_LEASE_MS,
        waitMs: options.lockWaitMs ?? 30_000,
        sortKey: 'lock',
      }),
    logger: options.logger,
    idLength: options.idLength,
    maxTrustPolicySize: options.maxTrustPolicySize,
    dryRun: options.dryRun,
    refuse: (roleArn) =>
      protectedReason(roleArn, options.registry, options.ownRoleArns) ?? options.otherAccount?.(roleArn) ?? null,
    ...(options.revokeOldSessions ? { revokeOldSessions: options.revokeOldSessions } : {}),
  };
}
