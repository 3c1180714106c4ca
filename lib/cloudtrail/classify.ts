import { accountOfArn, parseRoleArn, roleArnFromErrorMessage } from './arn.js';
import {
  type AssumeRecord,
  checkAssumeRecord,
  checkRoleChangeRecord,
  checkTrustChangeRecord,
  wholeNumber,
} from './schema.js';
import { formatIsoUtc, parseCloudTrailEventTime, parseCloudTrailExpiration } from './time.js';
import {
  type AssumeEvent,
  type ClassifiedRecord,
  type ClassifyOptions,
  ROLE_CHANGE_EVENT_NAMES,
  type RoleChangeEvent,
  type TrustPolicyChangeEvent,
} from './types.js';

const ASSUME_NAMES = new Set(['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity']);
const TRUST_CHANGE = 'UpdateAssumeRolePolicy';
const ROLE_CHANGES = new Set<string>(ROLE_CHANGE_EVENT_NAMES);
// CloudTrail event names are API operation names.
const EVENT_NAME = /^[A-Za-z][A-Za-z0-9]{0,127}$/;
const EVENT_SOURCE = /^[a-z0-9.-]{1,128}\.amazonaws\.com$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const rejected = (reason: string): ClassifiedRecord => ({ kind: 'rejected', reason });

/**
 * Classify one CloudTrail record: an STS assume (successful or denied), a trust-policy change, a valid record
 * roleguard ignores, or a rejected record with the reason. Pure; never throws on any input.
 */
export function classifyRecord(
  record: unknown,
  options: ClassifyOptions,
  envelopeId: string | null = null,
): ClassifiedRecord {
  if (!isPlainObject(record))
    return rejected(`not a CloudTrail record: expected an object, got ${describeType(record)}`);
  const { eventName, eventSource } = record;
  if (typeof eventName !== 'string') return rejected(`eventName is ${describeType(eventName)}, expected a string`);
  switch (relevantKind(eventName, eventSource)) {
    case 'assume':
      return classifyAssume(record, options, envelopeId);
    case 'trust-policy-change':
      return classifyTrustChange(record, envelopeId);
    case 'role-change':
      return classifyRoleChange(record, envelopeId);
  }
  // Anything else is ignored, provided it is a plausible CloudTrail record at all: only its name, source and time
  // are checked (98 % of a trail), each against the last values seen first, as records repeat them.
  if (!EVENT_NAME.test(eventName)) return rejected(`unknown event name ${JSON.stringify(eventName.slice(0, 64))}`);
  if (typeof eventSource !== 'string' || !isEventSource(eventSource)) {
    return rejected(`eventSource is ${describeValue(eventSource)}, expected a service host such as sts.amazonaws.com`);
  }
  if (typeof record.eventTime !== 'string' || record.eventTime !== lastEventTime) {
    if (parseCloudTrailEventTime(record.eventTime) === null)
      return rejected(`eventTime is ${describeValue(record.eventTime)}, expected a timestamp`);
    lastEventTime = record.eventTime as string;
  }
  return {
    kind: 'ignored',
    eventName,
    reason: `${eventSource} ${eventName} is not an assume or IAM role event`,
    category: IGNORED,
  };
}

/**
 * What roleguard does with a record, from its event name and source alone: an STS assume, a trust-policy change,
 * another IAM write on a role, or null when it ignores it (if it is a valid record at all). The cheap check that
 * comes before any validation.
 */
export function relevantKind(
  eventName: unknown,
  eventSource: unknown,
): 'assume' | 'trust-policy-change' | 'role-change' | null {
  if (typeof eventName !== 'string') return null;
  // An assume is classified whatever its source, so that an assume with a wrong eventSource is rejected, not ignored.
  if (ASSUME_NAMES.has(eventName)) return 'assume';
  if (eventSource !== 'iam.amazonaws.com') return null;
  if (eventName === TRUST_CHANGE) return 'trust-policy-change';
  return ROLE_CHANGES.has(eventName) ? 'role-change' : null;
}

const IGNORED = 'not an assume or IAM role event';
// Only ever a string that parsed, so a missing or non-string eventTime never matches it.
let lastEventTime: string | null = null;
const eventSources = new Set<string>();

function isEventSource(source: string): boolean {
  if (eventSources.has(source)) return true;
  if (!EVENT_SOURCE.test(source)) return false;
  if (eventSources.size >= 1024) eventSources.clear();
  eventSources.add(source);
  return true;
}

function classifyAssume(
  record: Record<string, unknown>,
  options: ClassifyOptions,
  envelopeId: string | null,
): ClassifiedRecord {
  const identity = record.userIdentity;
  if (isPlainObject(identity) && identity.type === 'AWSService' && !options.recordAwsServiceAssumes) {
    const by = typeof identity.invokedBy === 'string' ? ` (${identity.invokedBy.slice(0, 128)})` : '';
    return {
      kind: 'ignored',
      eventName: String(record.eventName),
      reason: `assume by an AWS service${by}; not recorded unless RECORD_AWS_SERVICE_ASSUMES is set`,
      category: 'assume by an AWS service',
    };
  }
  const parsed = checkAssumeRecord(record);
  if (!parsed.success) return rejected(`${String(record.eventName)} record is invalid: ${parsed.reason}`);
  return normaliseAssume(parsed.data, envelopeId);
}

function normaliseAssume(r: AssumeRecord, envelopeId: string | null): ClassifiedRecord {
  const denied = Boolean(r.errorCode);
  const roleArn = r.requestParameters?.roleArn ?? (denied ? roleArnFromErrorMessage(r.errorMessage) : null);
  if (!roleArn) {
    return rejected(
      denied
        ? `denied ${r.eventName} names no role: requestParameters has no roleArn and errorMessage no role ARN`
        : `${r.eventName} has no requestParameters.roleArn`,
    );
  }
  const role = parseRoleArn(roleArn);
  if (!role) return rejected(`roleArn ${JSON.stringify(roleArn.slice(0, 256))} is not a valid IAM role ARN`);
  const id = r.userIdentity;
  const callerAccountId =
    id.accountId ?? accountOfArn(id.identityProvider) ?? accountOfArn(r.requestParameters?.principalArn) ?? null;
  // The role owner's copy of a cross-account call is an AWSAccount identity; abbreviated events may omit the recipient.
  const recipientAccountId =
    r.recipientAccountId ?? (id.type === 'AWSAccount' ? role.accountId : (callerAccountId ?? role.accountId));
  const credentials = denied ? null : r.responseElements?.credentials;
  const expires = parseCloudTrailExpiration(credentials?.expiration);
  const event: AssumeEvent = {
    kind: 'assume',
    eventId: r.eventID,
    envelopeId,
    eventName: r.eventName,
    recipientAccountId,
    roleArn,
    roleAccountId: role.accountId,
    roleSessionName: r.requestParameters?.roleSessionName ?? null,
    assumedRoleId: denied ? null : (r.responseElements?.assumedRoleUser?.assumedRoleId ?? null),
    accessKeyId: credentials?.accessKeyId ?? null,
    callerType: id.type,
    callerAccountId,
    callerArn: id.arn ?? null,
    callerPrincipalId: id.principalId ?? null,
    callerAccessKeyId: id.accessKeyId ?? null,
    externalId: r.requestParameters?.externalId ?? null,
    sourceIdentity: r.requestParameters?.sourceIdentity ?? r.responseElements?.sourceIdentity ?? null,
    sourceIpAddress: r.sourceIPAddress ?? null,
    userAgent: r.userAgent ?? null,
    awsRegion: r.awsRegion ?? null,
    sharedEventId: r.sharedEventID ?? null,
    durationSeconds: wholeNumber(r.requestParameters?.durationSeconds),
    issuedAt: formatIsoUtc(parseCloudTrailEventTime(r.eventTime)!),
    expiresAt: expires ? formatIsoUtc(expires) : null,
    outcome: denied ? 'denied' : 'success',
    errorCode: r.errorCode ?? null,
    errorMessage: r.errorMessage ?? null,
  };
  return event;
}

function classifyTrustChange(record: Record<string, unknown>, envelopeId: string | null): ClassifiedRecord {
  const parsed = checkTrustChangeRecord(record);
  if (!parsed.success) return rejected(`UpdateAssumeRolePolicy record is invalid: ${parsed.reason}`);
  const r = parsed.data;
  const id = r.userIdentity;
  const roleName = r.requestParameters?.roleName;
  if (!roleName) {
    // CloudTrail may null requestParameters on a failed call; nothing changed and no role is named.
    if (r.errorCode)
      return {
        kind: 'ignored',
        eventName: r.eventName,
        reason: `failed UpdateAssumeRolePolicy (${r.errorCode}) names no role`,
        category: 'failed trust-policy change naming no role',
      };
    return rejected('UpdateAssumeRolePolicy has no requestParameters.roleName');
  }
  const recipientAccountId = r.recipientAccountId ?? id.accountId ?? null;
  if (!recipientAccountId)
    return rejected('UpdateAssumeRolePolicy has neither recipientAccountId nor userIdentity.accountId');
  const change: TrustPolicyChangeEvent = {
    kind: 'trust-policy-change',
    eventId: r.eventID,
    envelopeId,
    recipientAccountId,
    roleName,
    policyDocument: r.errorCode ? null : (r.requestParameters?.policyDocument ?? null),
    callerType: id.type,
    callerAccountId: id.accountId ?? null,
    callerArn: id.arn ?? null,
    callerIssuerArn: id.sessionContext?.sessionIssuer?.arn ?? null,
    sourceIpAddress: r.sourceIPAddress ?? null,
    userAgent: r.userAgent ?? null,
    awsRegion: r.awsRegion ?? null,
    eventTime: formatIsoUtc(parseCloudTrailEventTime(r.eventTime)!),
    outcome: r.errorCode ? 'denied' : 'success',
    errorCode: r.errorCode ?? null,
  };
  return change;
}

function classifyRoleChange(record: Record<string, unknown>, envelopeId: string | null): ClassifiedRecord {
  const parsed = checkRoleChangeRecord(record);
  if (!parsed.success) return rejected(`${String(record.eventName)} record is invalid: ${parsed.reason}`);
  const r = parsed.data;
  const id = r.userIdentity;
  const params = r.requestParameters;
  if (!params) {
    // As for UpdateAssumeRolePolicy: a failed call may log no parameters; nothing changed and no role is named.
    if (r.errorCode)
      return {
        kind: 'ignored',
        eventName: r.eventName,
        reason: `failed ${r.eventName} (${r.errorCode}) names no role`,
        category: 'failed role change naming no role',
      };
    return rejected(`${r.eventName} has no requestParameters.roleName`);
  }
  if (r.eventName.endsWith('RolePolicy') && !params.policyName)
    return rejected(`${r.eventName} has no requestParameters.policyName`);
  const recipientAccountId = r.recipientAccountId ?? id.accountId ?? null;
  if (!recipientAccountId) return rejected(`${r.eventName} has neither recipientAccountId nor userIdentity.accountId`);
  const created = r.eventName === 'CreateRole' && !r.errorCode;
  const change: RoleChangeEvent = {
    kind: 'role-change',
    eventName: r.eventName,
    eventId: r.eventID,
    envelopeId,
    recipientAccountId,
    roleName: params.roleName,
    policyName: params.policyName ?? null,
    trustPolicy: created
      ? (params.assumeRolePolicyDocument ?? r.responseElements?.role?.assumeRolePolicyDocument ?? null)
      : null,
    roleId: created ? (r.responseElements?.role?.roleId ?? null) : null,
    callerType: id.type,
    callerAccountId: id.accountId ?? null,
    callerArn: id.arn ?? null,
    callerIssuerArn: id.sessionContext?.sessionIssuer?.arn ?? null,
    sourceIpAddress: r.sourceIPAddress ?? null,
    userAgent: r.userAgent ?? null,
    awsRegion: r.awsRegion ?? null,
    eventTime: formatIsoUtc(parseCloudTrailEventTime(r.eventTime)!),
    outcome: r.errorCode ? 'denied' : 'success',
    errorCode: r.errorCode ?? null,
  };
  return change;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return value === undefined ? 'missing' : `a ${typeof value}`;
}

function describeValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : describeType(value);
}
