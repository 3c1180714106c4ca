import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';

/**
 * Where a role's external-ID rotation stands. The steps follow AWS Secrets Manager's rotation:
 * created (a pending ID exists) → set (the trust policy accepts both) → notified (the vendor's contact has it) →
 * confirmed (CloudTrail showed the vendor assume with it) → finished (only the new ID is accepted).
 * `idle` is a role with no rotation yet (it dates the schedule); `rolled-back` dropped the pending ID.
 */
export type RotationPhase = 'idle' | 'created' | 'set' | 'notified' | 'confirmed' | 'finished' | 'rolled-back';

/** The phases of a rotation in flight: at most one per role. */
export const IN_FLIGHT: readonly RotationPhase[] = ['created', 'set', 'notified', 'confirmed'];

/** A trust policy roleguard wrote (or is about to): its own UpdateAssumeRolePolicy is then not "changed outside roleguard". */
export interface TrustWrite {
  /** sha256 of the policy as canonical JSON (keys sorted). */
  hash: string;
  at: string;
  step: 'set' | 'finish' | 'rollback';
}

/** One role's rotation, as stored. */
export interface Rotation {
  roleArn: string;
  phase: RotationPhase;
  /** Increases with every change; each write is conditional on the version read. */
  version: number;
  rotationId: string | null;
  /** The schedule's reference: when roleguard first saw the role, or the last rotation ended. */
  since: string;
  /** The ID that was current when the rotation started. */
  previousId: string | null;
  /** The new ID, accepted alongside the previous one until the rotation finishes. */
  pendingId: string | null;
  trigger: 'schedule' | 'manual' | null;
  requestedBy: string | null;
  startedAt: string | null;
  /** The vendor must have used the new ID by then; after it, roleguard alerts and keeps both. */
  deadlineAt: string | null;
  /** The trust policy before `set` (JSON), kept for the record and for `--rollback`'s report. */
  previousPolicy: string | null;
  setAt: string | null;
  notifiedAt: string | null;
  confirmedAt: string | null;
  /** The assume that confirmed the new ID. */
  confirmation: { eventId: string; callerAccountId: string | null; at: string } | null;
  finishedAt: string | null;
  /** Finished without a confirmation, by `--finish --force`. */
  forced: boolean;
  rolledBackAt: string | null;
  /** The ID roleguard made current when its last rotation of this role finished; null before the first finish. */
  currentId: string | null;
  /**
   * Every ID roleguard's rotations retired (at a finish) or dropped (at a rollback), with when: never accepted again,
   * so an assume with one issued after that time is a retired-external-id finding.
   */
  retiredAt: Record<string, string>;
  /**
   * A finish or rollback decided and under way (its trust-policy write recorded): a confirmation no longer changes
   * the rotation, and the next run completes it if this one stopped half-way.
   */
  closing: 'finish' | 'rollback' | null;
  /** The last alert about this rotation (a key per reason), so a scheduled run does not repeat it every hour. */
  lastAlert: { key: string; at: string } | null;
  lastError: string | null;
  /**
   * Successful assumes with the previous ID by a trusted account while this rotation was in flight: the finish waits
   * until it has gone unused for the quiet period. Absent in items written before it was recorded.
   */
  oldIdUse?: OldIdUse | null;
  writes: TrustWrite[];
  history: { at: string; step: string; detail: string }[];
}

/** One caller (principal and source IP) seen assuming with the previous ID during a rotation. */
export interface OldIdCaller {
  /** The caller's ARN, else its account and principal id. */
  caller: string;
  sourceIp: string | null;
  firstAt: string;
  lastAt: string;
}

/** Where and when the previous ID was last used during a rotation. */
export interface OldIdUse {
  /** The latest assume with the previous ID seen (exact to {@link OLD_ID_USE_RESOLUTION_MS}). */
  lastAt: string;
  /** At most {@link MAX_OLD_ID_CALLERS}, the least recently seen dropped first. */
  callers: OldIdCaller[];
}

/** Distinct callers kept per rotation (one item holds the whole rotation). */
export const MAX_OLD_ID_CALLERS = 20;
/** A caller seen again within this time is not written again: one write per caller per minute at most. */
export const OLD_ID_USE_RESOLUTION_MS = 60_000;

/** A conditional write lost to another writer: re-read and decide again. */
export class RotationConflict extends Error {
  override name = 'RotationConflict';
}

const PK = 'rotation';

/** The key of a role's rotation item in the registry table. */
export const rotationKey = (roleArn: string) => ({ pk: PK, sk: roleArn });
/** Keep the history bounded: one item holds the whole rotation. */
const HISTORY = 40;
const WRITES = 6;

/** The rotation items, kept in the registry table (partition `rotation`, one item per role ARN). */
export interface RotationStore {
  tableName: string;
  get(roleArn: string): Promise<Rotation | null>;
  list(): Promise<Rotation[]>;
  /** Create the role's item (an idle baseline, or a rotation just started); fails with RotationConflict when it exists. */
  create(rotation: Rotation): Promise<Rotation>;
  /** Replace the item if it is still at `expected.version`; throws RotationConflict otherwise. */
  update(expected: Rotation, next: Omit<Rotation, 'version'>): Promise<Rotation>;
  /**
   * Mark the pending ID confirmed by an assume seen in CloudTrail, if it is still the pending ID of a rotation whose
   * trust policy accepts it. One conditional write; false when there was nothing to confirm (already confirmed, or
   * another rotation).
   */
  confirm(roleArn: string, pendingId: string, confirmation: NonNullable<Rotation['confirmation']>): Promise<boolean>;
  /**
   * Note a successful assume with the previous ID of a rotation in flight (one conditional write, skipped when the
   * same caller was noted less than a minute before). False when nothing was written.
   */
  noteOldIdUse(
    roleArn: string,
    previousId: string,
    use: { caller: string; sourceIp: string | null; at: string },
  ): Promise<boolean>;
}

/** Build the rotation store on the registry table. */
export function createRotationStore(doc: DynamoDBDocumentClient, tableName: string): RotationStore {
  const key = rotationKey;
  const bounded = (r: Omit<Rotation, 'version'>) => ({
    ...r,
    history: r.history.slice(-HISTORY),
    writes: r.writes.slice(-WRITES),
  });
  const get = async (roleArn: string): Promise<Rotation | null> => {
    const item = (await doc.send(new GetCommand({ TableName: tableName, Key: key(roleArn), ConsistentRead: true })))
      .Item;
    return item ? (item.rotation as Rotation) : null;
  };
  const update = async (expected: Rotation, next: Omit<Rotation, 'version'>): Promise<Rotation> => {
    const version = expected.version + 1;
    const stored = { ...bounded(next), version };
    try {
      await doc.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...key(expected.roleArn), version, rotation: stored },
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': expected.version },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        throw new RotationConflict(`the rotation of ${expected.roleArn} changed meanwhile`);
      throw error;
    }
    return stored;
  };
  return {
    tableName,
    get,
    update,
    async list() {
      const out: Rotation[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': PK },
            ConsistentRead: true,
            ExclusiveStartKey,
          }),
        );
        out.push(...(page.Items ?? []).map((i) => i.rotation as Rotation));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return out;
    },
    async create(rotation) {
      const stored = { ...bounded(rotation), version: 1 };
      try {
        await doc.send(
          new PutCommand({
            TableName: tableName,
            Item: { ...key(rotation.roleArn), version: 1, rotation: stored },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException)
          throw new RotationConflict(`a rotation item for ${rotation.roleArn} already exists`);
        throw error;
      }
      return stored;
    },
    async confirm(roleArn, pendingId, confirmation) {
      // Read, then write conditionally on the version: two confirmations at once leave one.
      for (let attempt = 0; attempt < 5; attempt++) {
        const current = await get(roleArn);
        if (
          !current ||
          current.closing ||
          current.pendingId !== pendingId ||
          (current.phase !== 'set' && current.phase !== 'notified')
        )
          return false;
        if (current.startedAt && confirmation.at < current.startedAt) return false;
        try {
          await update(current, {
            ...current,
            phase: 'confirmed',
            confirmedAt: confirmation.at,
            confirmation,
            history: [
              ...current.history,
              {
                at: confirmation.at,
                step: 'confirm',
                detail: `an assume by ${confirmation.callerAccountId ?? 'the vendor'} used the new ID (event ${confirmation.eventId})`,
              },
            ],
          });
          return true;
        } catch (error) {
          if (!(error instanceof RotationConflict)) throw error;
        }
      }
      return false;
    },
    async noteOldIdUse(roleArn, previousId, use) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const current = await get(roleArn);
        if (!current || current.closing || current.previousId !== previousId || !IN_FLIGHT.includes(current.phase))
          return false;
        if (current.startedAt && use.at < current.startedAt) return false;
        const next = withOldIdUse(current.oldIdUse ?? null, use);
        if (!next) return false;
        try {
          await update(current, { ...current, oldIdUse: next });
          return true;
        } catch (error) {
          if (!(error instanceof RotationConflict)) throw error;
        }
      }
      return false;
    },
  };
}

/** The old-ID use with one more assume noted; null when it adds nothing worth a write. Pure. */
export function withOldIdUse(
  use: OldIdUse | null,
  seen: { caller: string; sourceIp: string | null; at: string },
): OldIdUse | null {
  const callers = use?.callers ?? [];
  const same = callers.find((c) => c.caller === seen.caller && c.sourceIp === seen.sourceIp);
  if (same && Date.parse(seen.at) <= Date.parse(same.lastAt) + OLD_ID_USE_RESOLUTION_MS) return null;
  const others = callers.filter((c) => c !== same);
  const entry: OldIdCaller = same
    ? { ...same, lastAt: seen.at } // later than its last by more than the resolution (checked above)
    : { caller: seen.caller, sourceIp: seen.sourceIp, firstAt: seen.at, lastAt: seen.at };
  const kept = [...others, entry].sort((a, b) => b.lastAt.localeCompare(a.lastAt)).slice(0, MAX_OLD_ID_CALLERS);
  return { lastAt: use && use.lastAt > seen.at ? use.lastAt : seen.at, callers: kept };
}

/** A role's first item: no rotation yet, dated so the schedule counts from now rather than rotating everything at once. */
export function idleRotation(roleArn: string, since: string): Rotation {
  return {
    roleArn,
    phase: 'idle',
    version: 0,
    rotationId: null,
    since,
    previousId: null,
    pendingId: null,
    trigger: null,
    requestedBy: null,
    startedAt: null,
    deadlineAt: null,
    previousPolicy: null,
    setAt: null,
    notifiedAt: null,
    confirmedAt: null,
    confirmation: null,
    finishedAt: null,
    forced: false,
    rolledBackAt: null,
    currentId: null,
    retiredAt: {},
    closing: null,
    lastAlert: null,
    lastError: null,
    oldIdUse: null,
    writes: [],
    history: [{ at: since, step: 'baseline', detail: 'first seen by the rotation schedule' }],
  };
}
