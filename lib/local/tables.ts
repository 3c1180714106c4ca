import {
  CreateTableCommand,
  type CreateTableCommandInput,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Create a table (and its TTL setting) if it does not exist yet; used for DynamoDB Local only. */
export async function ensureTable(
  client: DynamoDBDocumentClient,
  definition: CreateTableCommandInput,
  ttlAttribute?: string,
): Promise<void> {
  try {
    await client.send(new CreateTableCommand(definition));
  } catch (error) {
    if (error instanceof ResourceInUseException) return;
    throw error;
  }
  if (ttlAttribute) {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: definition.TableName,
        TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
      }),
    );
  }
}
