import type { AssumeEvent } from '../cloudtrail/types.js';

const MAX_SESSION_SECONDS = 12 * 3600;

/** A recorded session as the replay report and the CLI show it (contract §2 `sessions`, plus context). */
export interface SessionView {
  eventId: string;
  eventName: string;
  roleArn: string;
  roleSessionName: string | null;
  assumedRoleId: string | null;
  accessKeyId: string | null;
  callerAccountId: string | null;
  callerType: string;
  externalId: string | null;
  sourceIpAddress: string | null;
  issuedAt: string;
  expiresAt: string | null;
  outcome: 'success' | 'denied';
  recipientAccountId: string;
  callerArn: string | null;
  callerPrincipalId: string | null;
  sourceIdentity: string | null;
  userAgent: string | null;
  awsRegion: string | null;
  sharedEventId: string | null;
  durationSeconds: number | null;
  errorCode: string | null;
}

/** The primary key of one CloudTrail event copy. */
export function sessionKey(recipientAccountId: string, eventId: string): string {
  return `${recipientAccountId}#${eventId}`;
}

/**
 * The key of the one session item of a cross-account assume: the caller's and the role owner's copies share
 * `sharedEventID`, and the first copy to write it decides for both (see docs/architecture.md).
 */
export function sharedSessionKey(sharedEventId: string): string {
  return `shared#${sharedEventId}`;
}

/** Sort key for the time-ordered indexes: fixed-width ISO time, then the event id. */
export function issuedSortKey(issuedAt: string, eventId: string): string {
  return `${new Date(issuedAt).toISOString()}#${eventId}`;
}

/** When the item should be deleted: the session's expiry (or the longest possible one) plus the retention period. */
export function ttlSeconds(event: Pick<AssumeEvent, 'issuedAt' | 'expiresAt'>, retentionDays: number): number {
  const issued = Date.parse(event.issuedAt) / 1000;
  const expires = event.expiresAt ? Date.parse(event.expiresAt) / 1000 : issued + MAX_SESSION_SECONDS;
  return Math.floor(expires) + retentionDays * 86400;
}

/** The DynamoDB item for a session. Index keys that are null are left out (the indexes are sparse). */
export function toSessionItem(
  event: AssumeEvent,
  retentionDays: number,
  recordedAt: string,
  state: 'pending' | 'done',
  pk: string = sessionKey(event.recipientAccountId, event.eventId),
): Record<string, unknown> {
  const { kind: _kind, ...fields } = event;
  const item: Record<string, unknown> = {
    pk,
    ...fields,
    issuedSk: issuedSortKey(event.issuedAt, event.eventId),
    ttl: ttlSeconds(event, retentionDays),
    recordedAt,
    state,
  };
  // DynamoDB rejects an empty string as an index key: leave such keys out too.
  if (!item.accessKeyId) delete item.accessKeyId;
  if (!item.callerAccountId) delete item.callerAccountId;
  return item;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A normalised assume event in the report's session shape. */
export function sessionViewOf(e: AssumeEvent): SessionView {
  return {
    eventId: e.eventId,
    eventName: e.eventName,
    roleArn: e.roleArn,
    roleSessionName: e.roleSessionName,
    assumedRoleId: e.assumedRoleId,
    accessKeyId: e.accessKeyId,
    callerAccountId: e.callerAccountId,
    callerType: e.callerType,
    externalId: e.externalId,
    sourceIpAddress: e.sourceIpAddress,
    issuedAt: e.issuedAt,
    expiresAt: e.expiresAt,
    outcome: e.outcome,
    recipientAccountId: e.recipientAccountId,
    callerArn: e.callerArn,
    callerPrincipalId: e.callerPrincipalId,
    sourceIdentity: e.sourceIdentity,
    userAgent: e.userAgent,
    awsRegion: e.awsRegion,
    sharedEventId: e.sharedEventId,
    durationSeconds: e.durationSeconds,
    errorCode: e.errorCode,
  };
}

/**
 * The other copy of a cross-account assume adds what it knows to the session view, as the store does to the item:
 * the caller's ARN and identity, when the view has no ARN yet (the owner's copy came first).
 */
export function addOtherCopy(view: SessionView, e: AssumeEvent): void {
  if (view.callerArn || !e.callerArn) return;
  view.callerArn = e.callerArn;
  view.callerType = e.callerType;
  view.callerPrincipalId = e.callerPrincipalId ?? view.callerPrincipalId;
}

/** Read a stored item back as the report's session shape. */
export function toSessionView(item: Record<string, unknown>): SessionView {
  return {
    eventId: String(item.eventId),
    eventName: String(item.eventName),
    roleArn: String(item.roleArn),
    roleSessionName: str(item.roleSessionName),
    assumedRoleId: str(item.assumedRoleId),
    accessKeyId: str(item.accessKeyId),
    callerAccountId: str(item.callerAccountId),
    callerType: String(item.callerType),
    externalId: str(item.externalId),
    sourceIpAddress: str(item.sourceIpAddress),
    issuedAt: String(item.issuedAt),
    expiresAt: str(item.expiresAt),
    outcome: item.outcome === 'denied' ? 'denied' : 'success',
    recipientAccountId: String(item.recipientAccountId),
    callerArn: str(item.callerArn),
    callerPrincipalId: str(item.callerPrincipalId),
    sourceIdentity: str(item.sourceIdentity),
    userAgent: str(item.userAgent),
    awsRegion: str(item.awsRegion),
    sharedEventId: str(item.sharedEventId),
    durationSeconds: typeof item.durationSeconds === 'number' ? item.durationSeconds : null,
    errorCode: str(item.errorCode),
  };
}
