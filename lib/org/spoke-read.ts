/**
 * The global spoke's read-only role `roleguard-<stage>-spoke-read`: IAM reads only (GetAccountAuthorizationDetails,
 * GetRole, the role-policy reads), for `roles import --org/--account` run by a person. The responder role trusts the
 * hub's function roles alone; this one also trusts the principals of the OperatorPrincipalArns parameter (exact
 * ARNs, from the organization when OrgId is set), always with a `roleguard-*` session name.
 */
import { type CfnParameter, ref, SPOKE_READ_ROLE_NAME } from './spoke-parts.js';

/** The parameter naming the operators who may read through the spoke (a comma list of IAM ARNs; empty: none). */
export const OPERATOR_PARAMETER: CfnParameter = {
  Type: 'String',
  Description:
    'IAM role or user ARNs (comma list) that may assume roleguard-<stage>-spoke-read to read IAM (roles import); empty: the hub roles only',
  AllowedPattern:
    '^(arn:aws[a-z-]*:iam::\\d{12}:(role|user)/[^,\\s*?]+)?(,arn:aws[a-z-]*:iam::\\d{12}:(role|user)/[^,\\s*?]+)*$',
  ConstraintDescription: 'a comma list of exact IAM role or user ARNs (no wildcards), or empty',
  Default: '',
};

/** The conditions the read role uses. */
export const READ_CONDITIONS = {
  HasOperators: { 'Fn::Not': [{ 'Fn::Equals': [ref('OperatorPrincipalArns'), ''] }] },
};

const orgCondition = {
  'Fn::If': ['HasOrgId', { 'aws:PrincipalOrgID': ref('OrgId') }, ref('AWS::NoValue')],
};

/** The read role: `hubStatement` is the responder role's own trust statement (the hub's exact roles). */
export function spokeReadRole(hubStatement: Record<string, unknown>, readPolicy: Record<string, unknown>) {
  const operators = {
    Sid: 'RoleguardOperators',
    Effect: 'Allow',
    Principal: { AWS: '*' },
    Action: 'sts:AssumeRole',
    Condition: {
      ArnEquals: { 'aws:PrincipalArn': { 'Fn::Split': [',', ref('OperatorPrincipalArns')] } },
      StringLike: { 'sts:RoleSessionName': 'roleguard-*' },
      StringEquals: orgCondition,
    },
  };
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      RoleName: SPOKE_READ_ROLE_NAME,
      Description:
        "roleguard's read-only role (IAM reads): the hub's roles and the operators assume it with a roleguard-* session name",
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [hubStatement, { 'Fn::If': ['HasOperators', operators, ref('AWS::NoValue')] }],
      },
      Policies: [readPolicy],
      Tags: [{ Key: 'roleguard:component', Value: 'spoke-read' }],
    },
  };
}
