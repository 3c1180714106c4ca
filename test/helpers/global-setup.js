// Start one DynamoDB Local for the whole test run, on a free port; tests create their own tables in it.
// Jest loads this file outside its module mapper, so the TypeScript module is loaded through tsx.
import { tsImport } from 'tsx/esm/api';
import './quiet-warnings.js';

export default async function globalSetup() {
  const { startDynamoDbLocal } = await tsImport('../../lib/local/dynamodb-local.ts', import.meta.url);
  const local = await startDynamoDbLocal();
  process.env.ROLEGUARD_TEST_DYNAMODB_ENDPOINT = local.endpoint;
  globalThis.__dynamoDbLocal = local;
}
