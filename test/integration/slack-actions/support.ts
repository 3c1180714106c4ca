import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { slackSignature } from '../../../lib/slack-actions/index.js';
import { type FakeServer, startFakeServer } from '../../helpers/fake-aws.js';

/** SSM (JSON 1.1) holding several SecureString parameters. */
export function fakeSsmParameters(values: Record<string, string>): Promise<FakeServer> {
  return startFakeServer((request) => {
    const name = (JSON.parse(request.body || '{}') as { Name?: string }).Name ?? '';
    const value = values[name];
    if (value === undefined)
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
}

/** Lambda's Invoke API: an asynchronous invoke is accepted with 202, and its payload kept. */
export function fakeLambda(): Promise<FakeServer> {
  return startFakeServer(() => ({ status: 202, type: 'application/json', body: '' }));
}

type HttpApiHandler = (
  event: { headers: Record<string, string>; body: string; isBase64Encoded: boolean },
  context: never,
) => Promise<{ statusCode: number; body: string }>;

/**
 * A real HTTP server on 127.0.0.1 in front of an HTTP API handler: each request becomes an API Gateway payload 2.0
 * event (lower-case headers, a form body base64-encoded), as API Gateway hands it to Lambda.
 */
export async function startApi(handler: HttpApiHandler): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : (v ?? '')]),
      );
      const event = { headers, body: Buffer.concat(chunks).toString('base64'), isBase64Encoded: true };
      const context = { functionName: 'slackActions', awsRequestId: 'r1', getRemainingTimeInMillis: () => 3000 };
      handler(event, context as never).then(
        (out) => {
          res.writeHead(out.statusCode, { 'content-type': 'text/plain' });
          res.end(out.body);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/slack/actions`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A Slack `block_actions` form body: one button click. */
export function clickBody(options: { alertId: string; action: string; userId: string; responseUrl: string }): string {
  const payload = {
    type: 'block_actions',
    user: { id: options.userId, username: `user-${options.userId.toLowerCase()}`, team_id: 'T0EXAMPLE' },
    api_app_id: 'A0EXAMPLE',
    container: { type: 'message', message_ts: '1730591251.000100', channel_id: 'C0EXAMPLE' },
    response_url: options.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: options.action,
        block_id: 'roleguard-actions',
        value: options.alertId,
        action_ts: '1730591260.000200',
      },
    ],
  };
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** Post a form body as Slack does: signed with the secret at `timestamp` (seconds), or with headers as given. */
export async function postSigned(
  url: string,
  body: string,
  options: { secret: string; timestamp?: number; headers?: Record<string, string | null>; sendBody?: string },
): Promise<{ status: number; text: string }> {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': timestamp,
    'x-slack-signature': slackSignature(options.secret, timestamp, body),
  };
  for (const [k, v] of Object.entries(options.headers ?? {})) {
    if (v === null) delete headers[k];
    else headers[k] = v;
  }
  const res = await fetch(url, { method: 'POST', headers, body: options.sendBody ?? body });
  return { status: res.status, text: await res.text() };
}
