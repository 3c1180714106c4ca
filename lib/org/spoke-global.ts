/**
 * The global spoke (us-east-1, once per account): the responder role `roleguard-<stage>-spoke` that the hub's roles
 * assume to read IAM in the account and, when the AllowWrites parameter is "true", to revoke and rotate on the roles
 * tagged `roleguard:guarded=true`.
 */
import {
  type CfnTemplate,
  commonParameters,
  flagParameter,
  HAS_ORG_ID,
  HUB_ROLE_ARNS,
  ref,
  SPOKE_ROLE_NAME,
  type SpokeDefaults,
  sub,
} from './spoke-parts.js';
import { OPERATOR_PARAMETER, READ_CONDITIONS, spokeReadRole } from './spoke-read.js';

/** The IAM reads the hub makes through the spoke role (revocation, rotation, audit, import). */
export const SPOKE_READ_ACTIONS = [
  'iam:GetRole',
  'iam:GetRolePolicy',
  'iam:ListRolePolicies',
  'iam:ListAttachedRolePolicies',
  'iam:ListRoleTags',
] as const;

/** The IAM writes (revocation statements and trust rotation), granted only with AllowWrites = "true". */
export const SPOKE_WRITE_ACTIONS = ['iam:PutRolePolicy', 'iam:DeleteRolePolicy', 'iam:UpdateAssumeRolePolicy'] as const;

/** The tag a role must carry before the spoke may write it. */
export const GUARDED_TAG = { key: 'roleguard:guarded', value: 'true' } as const;

/**
 * Roles the spoke never writes, whatever their tags: AWS's own (service-linked, IAM Identity Center), roleguard's
 * own, and the roles StackSets and Control Tower deploy with. Each is denied at the root path and under any path.
 */
export const PROTECTED_ROLE_PATTERNS = [
  'aws-service-role/*',
  'aws-reserved/*',
  'roleguard-*',
  '*/roleguard-*',
  'AWSCloudFormationStackSet*',
  '*/AWSCloudFormationStackSet*',
  'stacksets-exec-*',
  '*/stacksets-exec-*',
  'AWSControlTower*',
  '*/AWSControlTower*',
  'aws-controltower-*',
  '*/aws-controltower-*',
] as const;

/** Options of the global spoke template. */
export interface SpokeGlobalOptions extends SpokeDefaults {
  /** The AllowWrites parameter's default (false unless given). */
  allowWrites?: boolean;
}

const roleArn = (pattern: string) => sub(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/${pattern}`);

function hubStatement(): Record<string, unknown> {
  return {
    Sid: 'RoleguardHub',
    Effect: 'Allow',
    Principal: { AWS: sub('arn:${AWS::Partition}:iam::${HubAccountId}:root') },
    Action: 'sts:AssumeRole',
    Condition: {
      ArnEquals: { 'aws:PrincipalArn': HUB_ROLE_ARNS },
      StringLike: { 'sts:RoleSessionName': 'roleguard-*' },
      StringEquals: {
        'Fn::If': ['HasOrgId', { 'aws:PrincipalOrgID': ref('OrgId') }, ref('AWS::NoValue')],
      },
    },
  };
}

const trustPolicy = () => ({ Version: '2012-10-17', Statement: [hubStatement()] });

const readPolicy = {
  PolicyName: 'read-iam',
  PolicyDocument: {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'ReadRoles', Effect: 'Allow', Action: [...SPOKE_READ_ACTIONS], Resource: roleArn('*') },
      // GetAccountAuthorizationDetails has no resource type: it is granted on "*".
      { Sid: 'ReadAccount', Effect: 'Allow', Action: 'iam:GetAccountAuthorizationDetails', Resource: '*' },
    ],
  },
};

const writePolicy = {
  PolicyName: 'write-guarded-roles',
  PolicyDocument: {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'WriteGuardedRoles',
        Effect: 'Allow',
        Action: [...SPOKE_WRITE_ACTIONS],
        Resource: roleArn('*'),
        Condition: { StringEquals: { [`aws:ResourceTag/${GUARDED_TAG.key}`]: GUARDED_TAG.value } },
      },
      {
        Sid: 'NeverWriteProtectedRoles',
        Effect: 'Deny',
        Action: [...SPOKE_WRITE_ACTIONS],
        Resource: PROTECTED_ROLE_PATTERNS.map(roleArn),
      },
    ],
  },
};

/** The global spoke's CloudFormation template (a JSON object). */
export function spokeGlobalTemplate(options: SpokeGlobalOptions = {}): CfnTemplate {
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      "roleguard global spoke (us-east-1, once per account): the role roleguard's hub assumes to read IAM and, when allowed, to revoke and rotate on guarded roles",
    Parameters: {
      ...commonParameters(options),
      AllowWrites: flagParameter(
        'Let the hub write (revoke, rotate) on roles tagged roleguard:guarded=true; "false" keeps the spoke read-only',
        options.allowWrites ?? false,
      ),
      OperatorPrincipalArns: OPERATOR_PARAMETER,
    },
    Conditions: {
      HasOrgId: HAS_ORG_ID,
      ...READ_CONDITIONS,
      WritesAllowed: { 'Fn::Equals': [ref('AllowWrites'), 'true'] },
    },
    Resources: {
      SpokeRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          RoleName: SPOKE_ROLE_NAME,
          Description: "roleguard's responder role: the hub's roles assume it with a roleguard-* session name",
          AssumeRolePolicyDocument: trustPolicy(),
          Policies: [readPolicy, { 'Fn::If': ['WritesAllowed', writePolicy, ref('AWS::NoValue')] }],
          Tags: [{ Key: 'roleguard:component', Value: 'spoke' }],
        },
      },
      SpokeReadRole: spokeReadRole(hubStatement(), readPolicy),
    },
    Outputs: {
      SpokeRoleArn: {
        Description: 'The role the hub assumes in this account',
        Value: { 'Fn::GetAtt': ['SpokeRole', 'Arn'] },
      },
    },
  };
}
