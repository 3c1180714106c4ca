import { Readable } from 'node:stream';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../lib/deps.js';
import { LOCAL_AWS } from '../lib/local/dynamodb-local.js';

// What an empty table answers: every write succeeds, every read finds nothing.
const ANSWERS: Record<string, string> = {
  Query: '{"Count":0,"ScannedCount":0,"Items":[]}',
  Scan: '{"Count":0,"ScannedCount":0,"Items":[]}',
};

/**
 * A document client whose HTTP handler answers in the process, with no network and no Java: the SDK still builds,
 * signs and parses every call. A replay through it measures roleguard's own CPU cost without the store's latency.
 */
export function stubDocumentClient(): DynamoDBDocumentClient {
  const requestHandler = {
    async handle(request: { headers: Record<string, string> }) {
      const operation = (request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      const body = ANSWERS[operation] ?? '{}';
      return {
        response: {
          statusCode: 200,
          headers: { 'content-type': 'application/x-amz-json-1.0', 'content-length': String(body.length) },
          body: Readable.from([Buffer.from(body)]),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
  };
  return createDocumentClient({ ...LOCAL_AWS, endpoint: 'http://127.0.0.1:1', requestHandler });
}

/** Timing of the calls a client sends, by command: how many, and the time spent waiting on them in all. */
export interface CallTimes {
  byCommand: Record<string, { calls: number; totalMs: number }>;
}

/** Add a middleware that counts and times every call the client sends. */
export function timeCalls(client: DynamoDBDocumentClient): CallTimes {
  const times: CallTimes = { byCommand: {} };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const start = performance.now();
      try {
        return await next(args);
      } finally {
        const name = String(context.commandName).replace(/Command$/, '');
        times.byCommand[name] ??= { calls: 0, totalMs: 0 };
        const entry = times.byCommand[name];
        entry.calls++;
        entry.totalMs += performance.now() - start;
      }
    },
    { step: 'initialize', name: 'benchTimeCalls' },
  );
  return times;
}
