/**
 * The pieces both spoke templates share: their Parameters (with defaults a caller may fill in), the hub bus ARN and
 * the names fixed by the organization conventions. Everything here is CloudFormation JSON, resolved per account and
 * Region when a StackSet instance (or a plain stack) is created.
 */

/** A CloudFormation template, as a plain JSON object. */
export interface CfnTemplate {
  AWSTemplateFormatVersion: '2010-09-09';
  Description: string;
  Parameters: Record<string, CfnParameter>;
  Conditions: Record<string, unknown>;
  Resources: Record<string, { Type: string; Condition?: string; Properties: Record<string, unknown> }>;
  Outputs: Record<string, { Description: string; Condition?: string; Value: unknown }>;
}

/** One template parameter. */
export interface CfnParameter {
  Type: 'String';
  Description: string;
  Default?: string;
  AllowedPattern?: string;
  AllowedValues?: string[];
  ConstraintDescription?: string;
}

/** Values to write as the parameters' defaults (a StackSet or `aws cloudformation deploy` may still override them). */
export interface SpokeDefaults {
  stage?: string;
  hubAccountId?: string;
  hubRegion?: string;
  orgId?: string;
}

/** The parameters every spoke template takes, with `defaults` written in where given. */
export function commonParameters(defaults: SpokeDefaults = {}): Record<string, CfnParameter> {
  const withDefault = (value: string | undefined): { Default?: string } =>
    value === undefined ? {} : { Default: value };
  return {
    Stage: {
      Type: 'String',
      Description: "The hub's stage (roleguard-<stage>); it names the spoke's roles and the hub's bus",
      // Short enough that roleguard-<stage>-forwarder-<region> stays within IAM's 64 characters.
      AllowedPattern: '^[a-zA-Z0-9][a-zA-Z0-9-]{0,23}$',
      ConstraintDescription: 'letters, digits and hyphens, at most 24 characters',
      ...withDefault(defaults.stage),
    },
    HubAccountId: {
      Type: 'String',
      Description: "The hub's account (the account the roleguard stack is deployed in)",
      AllowedPattern: '^\\d{12}$',
      ConstraintDescription: 'a 12-digit AWS account id',
      ...withDefault(defaults.hubAccountId),
    },
    HubRegion: {
      Type: 'String',
      Description: "The hub's home Region, where its event bus is",
      AllowedPattern: '^[a-z]{2}(-[a-z]+)+-\\d+$',
      ConstraintDescription: 'an AWS Region, e.g. eu-west-1',
      ...withDefault(defaults.hubRegion),
    },
    OrgId: {
      Type: 'String',
      Description: 'The organization (o-…); empty for an organization of one: the hub account only',
      AllowedPattern: '^(o-[a-z0-9]{10,32})?$',
      ConstraintDescription: 'an organization id (o- followed by 10 to 32 lowercase letters or digits), or empty',
      Default: defaults.orgId ?? '',
    },
  };
}

/** A true/false parameter (CloudFormation has no boolean type). */
export function flagParameter(description: string, value = false): CfnParameter {
  return { Type: 'String', Description: description, AllowedValues: ['true', 'false'], Default: String(value) };
}

/** `Fn::Sub`, for readability. */
export const sub = (text: string): { 'Fn::Sub': string } => ({ 'Fn::Sub': text });

/** `Ref`, for readability. */
export const ref = (name: string): { Ref: string } => ({ Ref: name });

/** The hub's event bus, `roleguard-<stage>-org` in the hub account and home Region. */
export const HUB_BUS_ARN = sub(
  'arn:${AWS::Partition}:events:${HubRegion}:${HubAccountId}:event-bus/roleguard-${Stage}-org',
);

/** The responder role the hub assumes in each account. */
export const SPOKE_ROLE_NAME = sub('roleguard-${Stage}-spoke');

/** The read-only role of each account: the hub's roles and the operators (OperatorPrincipalArns) read IAM with it. */
export const SPOKE_READ_ROLE_NAME = sub('roleguard-${Stage}-spoke-read');

/** The forwarder role of one Region: the Region is in the name, so a multi-Region StackSet's roles do not collide. */
export const FORWARDER_ROLE_NAME = sub('roleguard-${Stage}-forwarder-${AWS::Region}');

/**
 * The hub's function roles (serverless.yml names each `roleguard-<stage>-hub-<short>`): the spoke trusts these exact
 * roles, never a pattern, so a principal of the hub account that can create roles cannot name one into the trust
 * (`roleguard-<stage>-hub-attacker`, or a path `roleguard-<stage>-hub-x/Evil`).
 */
export const HUB_ROLE_SHORT_NAMES = [
  'on-assume-role',
  'on-trust-policy-change',
  'sweep',
  'revoke',
  'rotate-external-ids',
  'audit-trust-policies',
  'slack-action-worker',
  'org-sync',
  'canary',
] as const;

/** The exact ARNs of the hub's roles, resolved from HubAccountId and Stage when the stack is created. */
export const HUB_ROLE_ARNS = HUB_ROLE_SHORT_NAMES.map((short) =>
  sub(`arn:\${AWS::Partition}:iam::\${HubAccountId}:role/roleguard-\${Stage}-hub-${short}`),
);

/** Condition: an organization id was given. */
export const HAS_ORG_ID = { 'Fn::Not': [{ 'Fn::Equals': [ref('OrgId'), ''] }] };
