/**
 * The regional spoke (every enabled Region of every account): rules on the default bus that forward CloudTrail's STS
 * assumes (and, in us-east-1, IAM's role changes) straight to the hub's bus, and the forwarder role they send with.
 * It holds no state: an event the hub bus cannot take is retried by EventBridge for up to 24 hours.
 */
import { iamRolePattern, stsAssumePattern } from './patterns.js';
import {
  type CfnTemplate,
  commonParameters,
  FORWARDER_ROLE_NAME,
  flagParameter,
  HUB_BUS_ARN,
  ref,
  type SpokeDefaults,
  sub,
} from './spoke-parts.js';

/** Options of the regional spoke template. */
export interface SpokeRegionalOptions extends SpokeDefaults {
  /** The RecordAwsServiceAssumes parameter's default (false unless given). */
  recordAwsServiceAssumes?: boolean;
}

/** The STS rule's state: CloudTrail's read-only events (AssumeRole is one) reach only rules in this state. */
export const STS_RULE_STATE = 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS';

/** IAM is global: its CloudTrail events are delivered in us-east-1 only, so the IAM rule exists only there. */
export const IAM_EVENTS_REGION = 'us-east-1';

/** EventBridge's retry policy towards the hub bus, at its maximum: 185 attempts over 24 hours. */
export const FORWARD_RETRY_POLICY = { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 } as const;

const forwarderRole = {
  Type: 'AWS::IAM::Role',
  Properties: {
    RoleName: FORWARDER_ROLE_NAME,
    Description: "Lets this Region's roleguard rules put events on the hub's bus, and nowhere else",
    AssumeRolePolicyDocument: {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'EventBridgeOfThisAccount',
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') } },
        },
      ],
    },
    Policies: [
      {
        PolicyName: 'put-to-hub-bus',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Sid: 'HubBusOnly', Effect: 'Allow', Action: 'events:PutEvents', Resource: HUB_BUS_ARN }],
        },
      },
    ],
    Tags: [{ Key: 'roleguard:component', Value: 'forwarder' }],
  },
};

const hubTarget = [
  {
    Id: 'roleguard-hub-bus',
    Arn: HUB_BUS_ARN,
    RoleArn: { 'Fn::GetAtt': ['ForwarderRole', 'Arn'] },
    RetryPolicy: { ...FORWARD_RETRY_POLICY },
  },
];

/** The regional spoke's CloudFormation template (a JSON object). */
export function spokeRegionalTemplate(options: SpokeRegionalOptions = {}): CfnTemplate {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      "roleguard regional spoke (every Region): forwards STS assumes, and in us-east-1 IAM role changes, to roleguard's hub bus",
    Parameters: {
      ...commonParameters(options),
      RecordAwsServiceAssumes: flagParameter(
        'Also forward assumes made by AWS services ("false" drops them at the rule, unbilled)',
        options.recordAwsServiceAssumes ?? false,
      ),
    },
    Conditions: {
      IsIamEventsRegion: { 'Fn::Equals': [ref('AWS::Region'), IAM_EVENTS_REGION] },
      RecordsAwsServiceAssumes: { 'Fn::Equals': [ref('RecordAwsServiceAssumes'), 'true'] },
    },
    Resources: {
      ForwarderRole: forwarderRole,
      StsAssumeRule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          Name: sub('roleguard-${Stage}-forward-sts'),
          Description: "Forwards STS assume events to roleguard's hub bus",
          State: STS_RULE_STATE,
          EventPattern: {
            'Fn::If': ['RecordsAwsServiceAssumes', stsAssumePattern(true), stsAssumePattern(false)],
          },
          Targets: hubTarget,
        },
      },
      IamRoleRule: {
        Type: 'AWS::Events::Rule',
        Condition: 'IsIamEventsRegion',
        Properties: {
          Name: sub('roleguard-${Stage}-forward-iam'),
          Description: "Forwards IAM role changes to roleguard's hub bus",
          State: 'ENABLED',
          EventPattern: iamRolePattern(),
          Targets: hubTarget,
        },
      },
    },
    Outputs: {
      ForwarderRoleArn: {
        Description: "The role this Region's rules put events with",
        Value: { 'Fn::GetAtt': ['ForwarderRole', 'Arn'] },
      },
    },
  };
}
