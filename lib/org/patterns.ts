/**
 * The EventBridge event patterns roleguard's rules use: one source for the hub stack (serverless.yml reads them
 * through serverless/org.cjs), the spoke templates (lib/org/templates.ts) and the tests that run them on samples.
 */

/** The STS APIs whose events start a session. */
export const STS_ASSUME_EVENT_NAMES = ['AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity'] as const;

/** The IAM role events that can change a trust policy, undo a revocation or replace a guarded role. */
export const IAM_ROLE_EVENT_NAMES = [
  'UpdateAssumeRolePolicy',
  'PutRolePolicy',
  'DeleteRolePolicy',
  'DeleteRole',
  'CreateRole',
] as const;

/** An EventBridge event pattern (a JSON object). */
export type EventPattern = Record<string, unknown>;

/**
 * The STS assume rule's pattern. Assumes by AWS services are dropped by the rule (and billed to nobody) unless they
 * are to be recorded; the code drops them too.
 */
export function stsAssumePattern(recordAwsServiceAssumes = false): EventPattern {
  const detail: Record<string, unknown> = {
    eventSource: ['sts.amazonaws.com'],
    eventName: [...STS_ASSUME_EVENT_NAMES],
  };
  if (!recordAwsServiceAssumes) detail.userIdentity = { type: [{ 'anything-but': ['AWSService'] }] };
  return { source: ['aws.sts'], 'detail-type': ['AWS API Call via CloudTrail'], detail };
}

/** The IAM rule's pattern: write events, so a plain ENABLED rule receives them (in us-east-1 only). */
export function iamRolePattern(): EventPattern {
  return {
    source: ['aws.iam'],
    'detail-type': ['AWS API Call via CloudTrail'],
    detail: { eventSource: ['iam.amazonaws.com'], eventName: [...IAM_ROLE_EVENT_NAMES] },
  };
}
