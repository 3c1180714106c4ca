/** Seeded builders of CloudTrail records shaped like a real trail's: other services' reads, and STS assumes. */

export const ACCOUNT = '111122223333';
export const VENDOR_ACCOUNT = '999988887777';
/** The registered role of events/registry.yaml (response: revoke) and its current external ID. */
export const GUARDED_ROLE = `arn:aws:iam::${ACCOUNT}:role/vendors/ExampleCorpAudit`;
export const CURRENT_EXTERNAL_ID = 'ec-7Hq2vN9xK4pL8mR3';
/** ExampleCorpAudit's role id: AROA and 17 characters, as IAM writes them. */
export const GUARDED_ROLE_ID = 'AROA3XFRBF23EXAMPLE01';

export type Random = () => number;
export type CtRecord = Record<string, unknown>;

const HEX = '0123456789abcdef';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const pick = <T>(random: Random, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const chars = (random: Random, alphabet: string, n: number) => {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)];
  return s;
};
/** A UUID-shaped id from the seeded generator (CloudTrail's eventID and requestID look like this). */
export const uuid = (random: Random) =>
  `${chars(random, HEX, 8)}-${chars(random, HEX, 4)}-4${chars(random, HEX, 3)}-a${chars(random, HEX, 3)}-${chars(random, HEX, 12)}`;
// A session token is ~700 characters of base64; one fixed body keeps generation fast and gzip honest enough.
const TOKEN = `IQoJb3JpZ2luX2VjE${'HYaCXVzLWVhc3QtMSJHMEUCIQDm5aP7vX2kq9wZ4nE0Xc1'.repeat(15)}`;

// The everyday callers of an account: application roles, CI, people in the console.
const APP_ROLES = [
  'app-api',
  'app-worker',
  'etl-nightly',
  'ci-deploy',
  'ops-readonly',
  'grafana',
  'backup',
  'eks-node',
];
function appIdentity(random: Random): CtRecord {
  const role = pick(random, APP_ROLES);
  const session = pick(random, [
    'i-0a1b2c3d4e5f67890',
    'botocore-session-1727740800',
    'aws-go-sdk-1727740800123',
    'alice@example.com',
    'GitHubActions',
  ]);
  const id = `AROA${role.length}${chars(random, UPPER, 4)}EXAMPLE${role.length % 10}`;
  return {
    type: 'AssumedRole',
    principalId: `${id}:${session}`,
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${session}`,
    accountId: ACCOUNT,
    accessKeyId: `ASIA${chars(random, UPPER, 16)}`,
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: id,
        arn: `arn:aws:iam::${ACCOUNT}:role/${role}`,
        accountId: ACCOUNT,
        userName: role,
      },
      attributes: { creationDate: '2026-10-01T00:00:00Z', mfaAuthenticated: 'false' },
    },
  };
}

// Other services' events, weighted roughly as a busy account's management trail has them.
const NOISE: [source: string, name: string, weight: number, params: (r: Random) => unknown][] = [
  [
    'kms.amazonaws.com',
    'Decrypt',
    18,
    () => ({
      encryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      encryptionContext: { 'aws:lambda:FunctionArn': `arn:aws:lambda:us-east-1:${ACCOUNT}:function:app-api` },
    }),
  ],
  [
    'kms.amazonaws.com',
    'GenerateDataKey',
    8,
    () => ({ keyId: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/aws/s3`, keySpec: 'AES_256' }),
  ],
  [
    's3.amazonaws.com',
    'GetBucketAcl',
    6,
    (r) => ({ bucketName: `data-${Math.floor(r() * 40)}`, Host: 's3.us-east-1.amazonaws.com', acl: '' }),
  ],
  ['s3.amazonaws.com', 'ListBuckets', 4, () => ({ Host: 's3.amazonaws.com' })],
  [
    's3.amazonaws.com',
    'GetBucketPolicy',
    3,
    (r) => ({ bucketName: `data-${Math.floor(r() * 40)}`, Host: 's3.us-east-1.amazonaws.com', policy: '' }),
  ],
  [
    'ec2.amazonaws.com',
    'DescribeInstances',
    9,
    (r) => ({ instancesSet: { items: [{ instanceId: `i-0${chars(r, HEX, 16)}` }] }, filterSet: {} }),
  ],
  [
    'ec2.amazonaws.com',
    'DescribeSecurityGroups',
    4,
    () => ({
      securityGroupSet: {},
      securityGroupIdSet: {},
      filterSet: { items: [{ name: 'vpc-id', valueSet: { items: [{ value: 'vpc-0a1b2c3d' }] } }] },
    }),
  ],
  ['ec2.amazonaws.com', 'DescribeVolumes', 3, () => ({ volumeSet: {}, filterSet: {}, maxResults: 500 })],
  ['iam.amazonaws.com', 'GetRole', 4, (r) => ({ roleName: pick(r, APP_ROLES) })],
  ['iam.amazonaws.com', 'ListRoles', 2, () => ({ maxItems: 1000 })],
  [
    'iam.amazonaws.com',
    'GetPolicyVersion',
    2,
    () => ({ policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess', versionId: 'v112' }),
  ],
  ['sts.amazonaws.com', 'GetCallerIdentity', 6, () => null],
  ['lambda.amazonaws.com', 'GetFunction', 3, (r) => ({ functionName: `app-${Math.floor(r() * 30)}` })],
  ['logs.amazonaws.com', 'DescribeLogGroups', 4, () => ({ logGroupNamePrefix: '/aws/lambda/', limit: 50 })],
  ['dynamodb.amazonaws.com', 'DescribeTable', 5, (r) => ({ tableName: `orders-${Math.floor(r() * 8)}` })],
  [
    'ssm.amazonaws.com',
    'GetParameter',
    5,
    (r) => ({ name: `/app/config/${Math.floor(r() * 50)}`, withDecryption: true }),
  ],
  [
    'monitoring.amazonaws.com',
    'GetMetricData',
    4,
    () => ({ startTime: 'Oct 1, 2026, 12:00:00 AM', endTime: 'Oct 1, 2026, 12:05:00 AM', maxDatapoints: 1440 }),
  ],
  ['ecr.amazonaws.com', 'GetAuthorizationToken', 2, () => null],
  [
    'ec2.amazonaws.com',
    'CreateTags',
    1,
    (r) => ({
      resourcesSet: { items: [{ resourceId: `i-0${chars(r, HEX, 16)}` }] },
      tagSet: { items: [{ key: 'owner', value: 'platform' }] },
    }),
  ],
];
const NOISE_TOTAL = NOISE.reduce((n, x) => n + x[2], 0);

function common(random: Random, at: string, source: string, name: string): CtRecord {
  return {
    eventVersion: '1.10',
    eventTime: at,
    eventSource: source,
    eventName: name,
    awsRegion: 'us-east-1',
    requestID: uuid(random),
    eventID: uuid(random),
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
    tlsDetails: {
      tlsVersion: 'TLSv1.3',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      clientProvidedHostHeader: `${source.split('.')[0]}.us-east-1.amazonaws.com`,
    },
  };
}

/** One of other services' events (what a trail is mostly made of); one in fifty is AccessDenied. */
export function noiseRecord(random: Random, at: string): CtRecord {
  let w = random() * NOISE_TOTAL;
  const [source, name, , params] =
    NOISE.find((x) => {
      w -= x[2];
      return w < 0;
    }) ?? NOISE[0]!;
  const denied = random() < 0.02;
  return {
    ...common(random, at, source, name),
    userIdentity: appIdentity(random),
    sourceIPAddress: `10.0.${Math.floor(random() * 250)}.${Math.floor(random() * 250)}`,
    userAgent: pick(random, [
      'aws-sdk-java/2.25.60 Linux/5.10.219 OpenJDK_64-Bit_Server_VM/17.0.11',
      'Boto3/1.34.131 md/Botocore#1.34.131 ua/2.0 os/linux#5.10 lang/python#3.12.4',
      `aws-sdk-js/3.600.0 ua/2.0 os/linux lang/js md/nodejs#20.15.0 api/${source.split('.')[0]}`,
    ]),
    requestParameters: params(random),
    responseElements: null,
    readOnly: !name.startsWith('Create'),
    ...(denied
      ? {
          errorCode: 'AccessDenied',
          errorMessage: `User is not authorized to perform: ${source.split('.')[0]}:${name} because no identity-based policy allows it`,
        }
      : {}),
  };
}

/** Which STS assume: by an AWS service (not recorded by default), by an app in the account, or by the vendor. */
export type AssumeKind = 'service' | 'app' | 'vendor' | 'vendor-wrong-id';

/** An AssumeRole record of the given kind; `session` makes the session name and access key unique. */
export function assumeRecord(random: Random, at: string, kind: AssumeKind, session: number): CtRecord {
  const expires = new Date(Date.parse(at) + 3600_000).toISOString().replace('.000Z', 'Z');
  const vendor = kind === 'vendor' || kind === 'vendor-wrong-id';
  const roleName = vendor ? 'ExampleCorpAudit' : pick(random, APP_ROLES);
  const roleArn = vendor ? GUARDED_ROLE : `arn:aws:iam::${ACCOUNT}:role/${roleName}`;
  const sessionName =
    kind === 'service'
      ? `${chars(random, HEX, 16)}`
      : vendor
        ? `ExampleCorp-${1727740800 + session}`
        : `botocore-session-${1727740800 + session}`;
  const roleId = vendor
    ? GUARDED_ROLE_ID
    : `AROA${roleName.length}${roleName
        .replace(/[^a-z]/g, '')
        .slice(0, 4)
        .toUpperCase()}EXAMPLE00`;
  const identity =
    kind === 'service'
      ? {
          type: 'AWSService',
          invokedBy: pick(random, ['lambda.amazonaws.com', 'ecs-tasks.amazonaws.com', 'ec2.amazonaws.com']),
        }
      : vendor
        ? {
            type: 'AWSAccount',
            principalId: `${kind === 'vendor' ? 'AROAVENDOREXAMPLE0001:scanner' : 'AROAVENDOREXAMPLE0002:tenant'}-${session % 7}`,
            accountId: VENDOR_ACCOUNT,
          }
        : appIdentity(random);
  return {
    ...common(random, at, 'sts.amazonaws.com', 'AssumeRole'),
    userIdentity: identity,
    sourceIPAddress:
      kind === 'service'
        ? (identity as { invokedBy: string }).invokedBy
        : vendor
          ? '203.0.113.25'
          : `10.0.${Math.floor(random() * 250)}.${Math.floor(random() * 250)}`,
    userAgent:
      kind === 'service'
        ? (identity as { invokedBy: string }).invokedBy
        : 'aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 api/sts#1.30.3',
    requestParameters: {
      roleArn,
      roleSessionName: sessionName,
      durationSeconds: 3600,
      ...(vendor ? { externalId: kind === 'vendor' ? CURRENT_EXTERNAL_ID : `guess-${chars(random, HEX, 12)}` } : {}),
    },
    responseElements: {
      credentials: { accessKeyId: `ASIA${chars(random, UPPER, 16)}`, sessionToken: TOKEN, expiration: expires },
      assumedRoleUser: {
        assumedRoleId: `${roleId}:${sessionName}`,
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/${sessionName}`,
      },
    },
    readOnly: true,
    resources: [{ accountId: ACCOUNT, type: 'AWS::IAM::Role', ARN: roleArn }],
    sharedEventID: uuid(random),
  };
}
