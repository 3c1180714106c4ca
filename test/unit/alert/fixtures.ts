import type { Alert } from '../../../lib/alert/index.js';
import type { Finding } from '../../../lib/detect/index.js';
import { maskExternalId } from '../../../lib/redact.js';
import type { RegisteredRole } from '../../../lib/registry/index.js';

/** The external ID the caller presented, in full: it must never reach Slack or SNS. */
export const RAW_EXTERNAL_ID = 'tenant-4711-of-example-corp-Zq9';
export const ROLE_ARN = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';

export const ROLE: RegisteredRole = {
  roleArn: ROLE_ARN,
  vendor: 'Example Corp',
  trustedAccounts: ['999988887777'],
  externalIds: { current: 'ec-7Hq2vN9xK4pL8mR3', pending: null, retired: [] },
  response: 'alert',
  rotation: null,
};

let counter = 0;

/** A critical unexpected-external-id finding as the detector builds it: the external ID masked. */
export function makeFinding(
  overrides: { context?: Partial<Finding['context']> } & Partial<Omit<Finding, 'context'>> = {},
): Finding {
  const { context, ...rest } = overrides;
  const masked = maskExternalId(RAW_EXTERNAL_ID);
  return {
    kind: 'unexpected-external-id',
    severity: 'critical',
    roleArn: ROLE_ARN,
    eventId: `evt-${process.pid}-${++counter}`,
    assumedRoleId: 'AROA3XFRBF23EXAMPLE1:ExampleCorp-scan',
    callerAccountId: '999988887777',
    message: `999988887777 assumed Example Corp's role with an unknown external ID ${masked}`,
    context: {
      recipientAccountId: '111122223333',
      vendor: 'Example Corp',
      at: '2026-11-02T23:47:31Z',
      callerArn: 'arn:aws:iam::999988887777:root',
      callerType: 'AWSAccount',
      sourceIpAddress: '198.51.100.77',
      roleSessionName: 'ExampleCorp-scan-1730538904',
      externalId: masked,
      userAgent: 'aws-sdk-java/2.25.0 Linux/5.10',
      ...context,
    },
    ...rest,
  };
}

/** An alert for a finding, as the outbox hands it to the formatters. */
export function makeAlert(finding: Finding = makeFinding(), overrides: Partial<Alert> = {}): Alert {
  return {
    alertId: 'a1b2c3d4e5f6a7b8c9d0',
    finding,
    count: 1,
    firstAt: finding.context.at,
    lastAt: finding.context.at,
    action: "Alerted only: this role's response is alert.",
    nextStep: 'Rotate the external ID with the vendor, then review what this session did in CloudTrail.',
    ...overrides,
  };
}
