import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigError } from '../errors.js';
import { getSecureParameter } from '../ssm-parameter.js';
import type { SlackHandover } from './types.js';

/** How long a warm receiver reuses the signing secret it read from SSM. */
const SECRET_CACHE_SECONDS = 300;

/** A setting the Slack functions need, named in a ConfigError when it is missing. */
export function requiredSetting(env: Record<string, string | undefined>, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError([`${name} is required`]);
  return value;
}

/** The Slack app's signing secret (an SSM SecureString), cached; errors name the parameter, never the value. */
export function signingSecretReader(parameterName: string): () => Promise<string> {
  return async () => {
    let value: string | undefined;
    try {
      value = await getSecureParameter(parameterName, SECRET_CACHE_SECONDS);
    } catch (error) {
      throw new ConfigError([
        `cannot read the Slack signing secret parameter ${parameterName}: ${(error as Error).name}`,
      ]);
    }
    if (!value?.trim()) throw new ConfigError([`the Slack signing secret parameter ${parameterName} is empty`]);
    return value.trim();
  };
}

/** Hand a signed request to the action function: an asynchronous invoke (Lambda queues it, retries it, dead-letters it). */
export function lambdaEnqueue(lambda: LambdaClient, functionName: string): (handover: SlackHandover) => Promise<void> {
  return async (handover) => {
    await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify(handover)),
      }),
    );
  };
}

/** The receiver's DynamoDB client, built here rather than through lib/deps.ts so that its bundle stays small. */
export function receiverDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
}
