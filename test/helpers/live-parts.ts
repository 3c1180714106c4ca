import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll } from '@jest/globals';
import { testDynamo } from './dynamo.js';
import { type FakeServer, fakeSlack } from './fake-aws.js';
import { type EmulatedIam, emulateIam } from './revocation.js';

/** What the revocation tests run against: DynamoDB Local, IAM emulated at the SDK, and Slack on 127.0.0.1. */
export interface LiveParts {
  doc: DynamoDBDocumentClient;
  iam: EmulatedIam;
  slack: FakeServer;
}

/**
 * Start the live parts for a test file (handed to `set` before its tests run), reset IAM and Slack after each test,
 * and stop them all after the file.
 */
export function useLiveParts(set: (parts: LiveParts) => void): void {
  let parts: LiveParts | undefined;
  beforeAll(async () => {
    parts = { doc: testDynamo(), iam: emulateIam(), slack: await fakeSlack() };
    set(parts);
  });
  afterAll(async () => {
    parts?.iam.restore();
    await parts?.slack.close();
    parts?.doc.destroy();
  });
  afterEach(() => {
    parts?.iam.reset();
    if (parts) parts.slack.received.length = 0;
  });
}
