// Local stand-ins for STS, Organizations and CloudFormation, for the packaged coverage functions (whose bundled SDK no
// mock can reach): point AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL_ORGANIZATIONS and AWS_ENDPOINT_URL_CLOUDFORMATION at
// their `url`.
import { type FakeServer, startFakeServer } from './fake-aws.js';

const xmlError = (ns: string, code: string, message: string, i: number) =>
  `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r-${i}</RequestId></ErrorResponse>`;

/** STS (query protocol): AssumeRole succeeds, except on the roles in `denied` (AccessDenied, as an SCP or a trust). */
export function fakeSts(denied: Set<string> = new Set()): Promise<FakeServer> {
  const ns = 'https://sts.amazonaws.com/doc/2011-06-15/';
  return startFakeServer((request, i) => {
    const form = new URLSearchParams(request.body);
    const roleArn = form.get('RoleArn') ?? '';
    const session = form.get('RoleSessionName') ?? '';
    if (denied.has(roleArn))
      return {
        status: 403,
        type: 'text/xml',
        body: xmlError(ns, 'AccessDenied', `not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, i),
      };
    const expiration = new Date(Date.now() + 900_000).toISOString();
    return {
      status: 200,
      type: 'text/xml',
      body: `<AssumeRoleResponse xmlns="${ns}"><AssumeRoleResult><Credentials><AccessKeyId>ASIAFAKESTS${String(i).padStart(9, '0')}</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken><Expiration>${expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAFAKESPOKEROLE001:${session}</AssumedRoleId><Arn>${roleArn.replace(':iam::', ':sts::').replace(':role/', ':assumed-role/')}/${session}</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r-${i}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
    };
  });
}

/** Organizations (JSON 1.1): ListAccounts of the management account and `accounts`, one page per account. */
export function fakeOrganizations(management: string, accounts: string[]): Promise<FakeServer> {
  const all = [management, ...accounts];
  return startFakeServer((request) => {
    const token = (JSON.parse(request.body || '{}') as { NextToken?: string }).NextToken;
    const at = token ? Number(token) : 0;
    const id = all[at]!;
    return {
      status: 200,
      type: 'application/x-amz-json-1.1',
      body: JSON.stringify({
        Accounts: [
          { Id: id, Arn: `arn:aws:organizations::${management}:account/o-exampleorg1/${id}`, State: 'ACTIVE' },
        ],
        ...(at + 1 < all.length ? { NextToken: String(at + 1) } : {}),
      }),
    };
  });
}

/** CloudFormation (query protocol): ListStackInstances of the StackSets in `instances` (name → account@region). */
export function fakeCloudFormation(instances: Record<string, string[]>): Promise<FakeServer> {
  const ns = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
  return startFakeServer((request, i) => {
    const form = new URLSearchParams(request.body);
    const name = form.get('StackSetName') ?? '';
    const members = (instances[name] ?? [])
      .map((cell) => {
        const [account, region] = cell.split('@');
        return `<member><StackSetId>${name}:1</StackSetId><Account>${account}</Account><Region>${region}</Region><Status>CURRENT</Status></member>`;
      })
      .join('');
    return {
      status: 200,
      type: 'text/xml',
      body: `<ListStackInstancesResponse xmlns="${ns}"><ListStackInstancesResult><Summaries>${members}</Summaries></ListStackInstancesResult><ResponseMetadata><RequestId>r-${i}</RequestId></ResponseMetadata></ListStackInstancesResponse>`,
    };
  });
}
