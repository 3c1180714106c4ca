// Stop the DynamoDB Local started by the global setup, and wait for the Java process to end.
export default async function globalTeardown() {
  await globalThis.__dynamoDbLocal?.stop();
}
