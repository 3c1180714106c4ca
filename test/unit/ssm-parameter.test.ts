import { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { readSlackWebhook } from '../../lib/lambda-deps.js';
import { LOCAL_AWS } from '../../lib/local/dynamodb-local.js';
import { GetParameterError, getSecureParameter, useSsmClient } from '../../lib/ssm-parameter.js';
import { fakeSsm, startFakeServer } from '../helpers/fake-aws.js';

const NAME = '/roleguard/test/slack-webhook-url';
let ssm: Awaited<ReturnType<typeof fakeSsm>>;
const client = (endpoint: string) =>
  new SSMClient({ region: LOCAL_AWS.region, credentials: LOCAL_AWS.credentials, endpoint, maxAttempts: 1 });

beforeAll(async () => {
  ssm = await fakeSsm(NAME, 'https://hooks.slack.invalid/services/T0/B0/one');
});
afterEach(() => {
  jest.restoreAllMocks();
  ssm.received.length = 0;
  ssm.set('https://hooks.slack.invalid/services/T0/B0/one');
});
afterAll(async () => {
  useSsmClient(null);
  await ssm.close();
});

describe('getSecureParameter', () => {
  it('reads the parameter decrypted, once per maxAge', async () => {
    useSsmClient(client(ssm.url));
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    expect(await getSecureParameter(NAME, 300)).toBe('https://hooks.slack.invalid/services/T0/B0/one');
    ssm.set('https://hooks.slack.invalid/services/T0/B0/two');
    now.mockReturnValue(1_000_000 + 300_000);
    expect(await getSecureParameter(NAME, 300)).toBe('https://hooks.slack.invalid/services/T0/B0/one');
    expect(ssm.received).toHaveLength(1);
    expect(JSON.parse(ssm.received[0]!.body)).toEqual({ Name: NAME, WithDecryption: true });
    // Past maxAge it is read again, and the new value is the one cached.
    now.mockReturnValue(1_000_000 + 300_001);
    expect(await getSecureParameter(NAME, 300)).toBe('https://hooks.slack.invalid/services/T0/B0/two');
    expect(ssm.received).toHaveLength(2);
  });

  it('fails with a GetParameterError carrying the SDK error, and caches no failure', async () => {
    useSsmClient(client(ssm.url));
    ssm.set(null);
    const error = await getSecureParameter(NAME, 300).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GetParameterError);
    expect((error as Error).name).toBe('GetParameterError');
    expect(((error as Error).cause as Error).name).toBe('ParameterNotFound');
    ssm.set('https://hooks.slack.invalid/services/T0/B0/back');
    expect(await getSecureParameter(NAME, 300)).toBe('https://hooks.slack.invalid/services/T0/B0/back');
  });
});

describe('readSlackWebhook', () => {
  it('names the parameter and the failure, never a value; a missing parameter is not retryable', async () => {
    useSsmClient(client(ssm.url));
    ssm.set(null);
    const error = (await readSlackWebhook(NAME).catch((e: unknown) => e)) as Error & { statusCode?: number };
    expect(error.message).toContain(`cannot read the Slack webhook parameter ${NAME}: GetParameterError: `);
    expect(error.statusCode).toBe(400);
  });

  it('keeps throttling retryable (429)', async () => {
    const throttling = await startFakeServer(() => ({
      status: 400,
      type: 'application/x-amz-json-1.1',
      body: JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }),
    }));
    try {
      useSsmClient(client(throttling.url));
      const error = (await readSlackWebhook(NAME).catch((e: unknown) => e)) as Error & { statusCode?: number };
      expect(error.message).toContain('GetParameterError: Rate exceeded');
      expect(error.statusCode).toBe(429);
    } finally {
      await throttling.close();
    }
  });
});
