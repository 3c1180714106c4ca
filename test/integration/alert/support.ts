import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DeliveryPolicy } from '../../../lib/alert/index.js';

/** One POST the fake Slack webhook received. */
export interface SlackRequest {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

/** The parsed body of a Slack webhook post. */
export interface SlackBody {
  text: string;
  blocks: {
    type: string;
    text?: { type: string; text: string };
    fields?: { type: string; text: string }[];
    elements?: { type: string; text: string }[];
  }[];
}

/** A real HTTP server on 127.0.0.1 standing in for a Slack incoming webhook. */
export interface FakeSlack {
  url: string;
  received: SlackRequest[];
  /** Statuses to answer with, in turn; 200 "ok" once they run out. */
  statuses: number[];
  bodies(): SlackBody[];
  reset(): void;
  close(): Promise<void>;
}

export async function startSlack(): Promise<FakeSlack> {
  const received: SlackRequest[] = [];
  const statuses: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const status = statuses.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : status === 400 ? 'invalid_blocks' : 'error');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    statuses,
    bodies: () => received.map((r) => JSON.parse(r.body) as SlackBody),
    reset: () => {
      received.length = 0;
      statuses.length = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A delivery policy that never waits, and remembers the waits it was asked for. */
export function instantPolicy(overrides: Partial<DeliveryPolicy> = {}): DeliveryPolicy & { waits: number[] } {
  const waits: number[] = [];
  return {
    attemptsNow: 3,
    baseDelayMs: 250,
    maxAttempts: 4,
    sleep: async (ms) => void waits.push(ms),
    ...overrides,
    waits,
  };
}

/** The raw alert item, with its place in the due index (`dueShard`, `dueAt`). */
export async function alertItem(
  doc: DynamoDBDocumentClient,
  table: string,
  alertId: string,
): Promise<Record<string, unknown> | undefined> {
  return (await doc.send(new GetCommand({ TableName: table, Key: { pk: `alert#${alertId}` }, ConsistentRead: true })))
    .Item;
}
