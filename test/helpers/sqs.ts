// An SQS event as Lambda's event-source mapping hands the STS queue's messages to onAssumeRole: each body is the
// EventBridge event the rule sent (JSON), or any text (a malformed message).

/** Wrap EventBridge events (objects) or raw bodies (strings) as one SQS batch; message ids are m-1, m-2, … */
export function sqsBatch(bodies: unknown[], queue = 'roleguard-test-sts-events') {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `m-${i + 1}`,
      receiptHandle: `receipt-${i + 1}`,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '1764493200000',
        SenderId: 'AIDAEVENTBRIDGE',
        ApproximateFirstReceiveTimestamp: '1764493200001',
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:us-east-1:111122223333:${queue}`,
      awsRegion: 'us-east-1',
    })),
  };
}
