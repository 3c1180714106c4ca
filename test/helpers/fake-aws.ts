import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a fake server received. */
export interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP server on 127.0.0.1 standing in for Slack, SSM or SNS. */
export interface FakeServer {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** Start a server that records every request and answers with `respond` (status, body, content type). */
export async function startFakeServer(
  respond: (request: Received, index: number) => { status: number; body?: string; type?: string },
): Promise<FakeServer> {
  const received: Received[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(request);
      const answer = respond(request, received.length - 1);
      res.writeHead(answer.status, { 'content-type': answer.type ?? 'text/plain' });
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A Slack incoming webhook that answers `ok` (or the given statuses in turn, then `ok`). */
export function fakeSlack(statuses: number[] = []): Promise<FakeServer> {
  return startFakeServer((_, i) =>
    i < statuses.length && statuses[i] !== 200 ? { status: statuses[i]!, body: 'error' } : { status: 200, body: 'ok' },
  );
}

/**
 * SSM (JSON 1.1 protocol) holding one SecureString parameter, or none while its value is null. The value can be
 * changed, because Powertools keeps one SSM client per process and so one endpoint.
 */
export async function fakeSsm(
  name: string,
  initial: string | null,
): Promise<FakeServer & { set(value: string | null): void }> {
  let value = initial;
  const server = await startFakeServer((request) => {
    const asked = (JSON.parse(request.body || '{}') as { Name?: string }).Name;
    if (value === null || asked !== name)
      return {
        status: 400,
        type: 'application/x-amz-json-1.1',
        body: JSON.stringify({ __type: 'ParameterNotFound', message: '' }),
      };
    return {
      status: 200,
      type: 'application/x-amz-json-1.1',
      body: JSON.stringify({ Parameter: { Name: name, Type: 'SecureString', Value: value, Version: 1 } }),
    };
  });
  return { ...server, set: (v) => (value = v) };
}

/** SNS (query protocol): every Publish succeeds. */
export function fakeSns(): Promise<FakeServer> {
  return startFakeServer((_, i) => ({
    status: 200,
    type: 'text/xml',
    body: `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-${i}</MessageId></PublishResult><ResponseMetadata><RequestId>r-${i}</RequestId></ResponseMetadata></PublishResponse>`,
  }));
}

/**
 * IAM (query protocol) holding roles' inline policies (GetRolePolicy, ListRolePolicies, PutRolePolicy,
 * DeleteRolePolicy) and trust policies (GetRole, UpdateAssumeRolePolicy): enough for the revocation and rotation
 * paths of a packaged function whose bundled SDK no mock can reach.
 */
export async function fakeIam(): Promise<FakeServer & { policies: Map<string, string>; trust: Map<string, string> }> {
  const policies = new Map<string, string>();
  const trust = new Map<string, string>();
  const ns = 'https://iam.amazonaws.com/doc/2010-05-08/';
  const ok = (action: string, result: string, i: number) => ({
    status: 200,
    type: 'text/xml',
    body: `<${action}Response xmlns="${ns}">${result ? `<${action}Result>${result}</${action}Result>` : ''}<ResponseMetadata><RequestId>r-${i}</RequestId></ResponseMetadata></${action}Response>`,
  });
  const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const server = await startFakeServer((request, i) => {
    const form = new URLSearchParams(request.body);
    const action = form.get('Action') ?? '';
    const key = `${form.get('RoleName')}/${form.get('PolicyName')}`;
    switch (action) {
      case 'GetRolePolicy': {
        const doc = policies.get(key);
        if (doc === undefined)
          return {
            status: 404,
            type: 'text/xml',
            body: `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role policy cannot be found.</Message></Error><RequestId>r-${i}</RequestId></ErrorResponse>`,
          };
        return ok(
          action,
          `<RoleName>${xml(form.get('RoleName')!)}</RoleName><PolicyName>${xml(form.get('PolicyName')!)}</PolicyName><PolicyDocument>${xml(encodeURIComponent(doc))}</PolicyDocument>`,
          i,
        );
      }
      case 'ListRolePolicies': {
        const names = [...policies.keys()]
          .filter((k) => k.startsWith(`${form.get('RoleName')}/`))
          .map((k) => `<member>${xml(k.slice(k.indexOf('/') + 1))}</member>`);
        return ok(action, `<PolicyNames>${names.join('')}</PolicyNames><IsTruncated>false</IsTruncated>`, i);
      }
      case 'PutRolePolicy':
        policies.set(key, form.get('PolicyDocument') ?? '');
        return ok(action, '', i);
      case 'DeleteRolePolicy':
        policies.delete(key);
        return ok(action, '', i);
      case 'GetRole': {
        const name = form.get('RoleName')!;
        const doc = trust.get(name);
        if (doc === undefined)
          return {
            status: 404,
            type: 'text/xml',
            body: `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name ${xml(name)} cannot be found.</Message></Error><RequestId>r-${i}</RequestId></ErrorResponse>`,
          };
        return ok(
          action,
          `<Role><Path>/vendors/</Path><RoleName>${xml(name)}</RoleName><RoleId>AROA3XFRBF23EXAMPLE1</RoleId><Arn>arn:aws:iam::111122223333:role/vendors/${xml(name)}</Arn><CreateDate>2025-01-01T00:00:00Z</CreateDate><AssumeRolePolicyDocument>${xml(encodeURIComponent(doc))}</AssumeRolePolicyDocument></Role>`,
          i,
        );
      }
      case 'UpdateAssumeRolePolicy':
        trust.set(form.get('RoleName')!, form.get('PolicyDocument') ?? '');
        return ok(action, '', i);
      default:
        return {
          status: 400,
          type: 'text/xml',
          body: `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${xml(action)}</Message></Error></ErrorResponse>`,
        };
    }
  });
  return { ...server, policies, trust };
}
