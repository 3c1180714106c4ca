// Records the AWS requests a function sends to the local stand-ins (DynamoDB Local through a proxy, the fakes of
// SSM, SNS, IAM and Lambda) and turns each into the IAM request it is: action, resource ARN, condition context.
// Used by the permission proof (iam-proof.ts, docs/permission-proof.md).
import { createServer, request as httpRequest } from 'node:http';
import { resolve, type Stack, type Template } from './cfn.js';
import type { FakeServer, Received } from './fake-aws.js';

/** One AWS request as IAM authorizes it. */
export interface AwsCall {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  /** What the request was, for messages (table, key, role name…). */
  detail: string;
  /** The resource's own policy where IAM needs it too (a KMS key policy), resolved from the template. */
  resourcePolicy?: unknown;
}

/** A local DynamoDB table name → the logical id of the template's table it stands for. */
export type TableMap = Record<string, string>;

/** IAM roles the fakes know: role name → ARN and tags (the tags are the request's aws:ResourceTag context). */
export type RoleMap = Record<string, { arn: string; tags: Record<string, string> }>;

/** A recording HTTP proxy in front of DynamoDB Local: point AWS_ENDPOINT_URL_DYNAMODB at its `url`. */
export async function recordingProxy(target: string): Promise<FakeServer> {
  const to = new URL(target);
  const received: Received[] = [];
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: body.toString('utf8'),
      });
      const out = httpRequest(
        { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      out.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      out.end(body);
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const { port } = proxy.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((r) => proxy.close(() => r())),
  };
}

/** Records what a set of local servers received, call by call, and turns it into IAM requests. */
export class CallRecorder {
  constructor(
    private readonly servers: FakeServer[],
    private readonly known: { template: Template; stack: Stack; tables: TableMap; roles: RoleMap },
  ) {}

  /** Every AWS request the servers have received so far. */
  all(): AwsCall[] {
    return this.servers.flatMap((s) => s.received.flatMap((r) => this.calls(r)));
  }

  /** Run `work` and return the AWS requests sent meanwhile (run one function at a time). */
  async during(work: () => Promise<unknown>): Promise<AwsCall[]> {
    const marks = this.servers.map((s) => s.received.length);
    await work();
    return this.servers.flatMap((s, i) => s.received.slice(marks[i]).flatMap((r) => this.calls(r)));
  }

  /** The IAM requests of one HTTP request (a batch or a transaction is one per item). */
  calls(received: Received): AwsCall[] {
    const auth = String(received.headers.authorization ?? '');
    const service = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(auth)?.[1];
    if (!service) return []; // not an AWS request (the Slack webhook)
    const { stack } = this.known;
    if (service === 'dynamodb') return this.dynamo(received);
    if (service === 'lambda') {
      // Invoke (REST): POST /2015-03-31/functions/<name or ARN>/invocations.
      const name = decodeURIComponent(/^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(received.url)?.[1] ?? '');
      if (!name) throw new Error(`a Lambda request the proof does not model: ${received.method} ${received.url}`);
      const resource = name.startsWith('arn:')
        ? name
        : `arn:aws:lambda:${stack.region}:${stack.accountId}:function:${name}`;
      return [{ action: 'lambda:InvokeFunction', resource, context: {}, detail: name }];
    }
    if (service === 'organizations') {
      // ListAccounts names no resource: IAM authorizes it on "*".
      const action = String(received.headers['x-amz-target']).split('.')[1]!;
      return [{ action: `organizations:${action}`, resource: '*', context: {}, detail: action }];
    }
    if (service === 'ssm') {
      const action = String(received.headers['x-amz-target']).split('.')[1]!;
      const name = (JSON.parse(received.body) as { Name: string }).Name;
      const resource = `arn:aws:ssm:${stack.region}:${stack.accountId}:parameter/${name.replace(/^\//, '')}`;
      return [{ action: `ssm:${action}`, resource, context: {}, detail: name }];
    }
    const form = new URLSearchParams(received.body);
    const action = form.get('Action')!;
    if (service === 'sns') {
      const topic = form.get('TopicArn')!;
      const calls: AwsCall[] = [{ action: `sns:${action}`, resource: topic, context: {}, detail: topic }];
      // A topic encrypted with a key of the stack: SNS uses the key with the publisher's permissions.
      const key = this.topicKey(topic);
      if (action === 'Publish' && key)
        for (const kms of ['kms:GenerateDataKey', 'kms:Decrypt'])
          calls.push({
            action: kms,
            resource: key.arn,
            context: { 'kms:ViaService': `sns.${stack.region}.amazonaws.com` },
            detail: `${topic} (SNS encrypts with the publisher's permissions)`,
            resourcePolicy: key.policy,
          });
      return calls;
    }
    if (service === 'iam') {
      const name = form.get('RoleName')!;
      const role = this.known.roles[name];
      if (!role) throw new Error(`iam:${action} on role ${name}, which the proof's role map does not name`);
      const context: Record<string, string> = {};
      for (const [k, v] of Object.entries(role.tags)) {
        context[`aws:ResourceTag/${k}`] = v;
        context[`iam:ResourceTag/${k}`] = v;
      }
      return [{ action: `iam:${action}`, resource: role.arn, context, detail: name }];
    }
    // Coverage (issue 15): the canary's assume of a spoke role, the sync's listing of the organization and StackSets.
    if (service === 'sts' && action === 'AssumeRole') {
      const roleArn = form.get('RoleArn')!;
      return [
        {
          action: 'sts:AssumeRole',
          resource: roleArn,
          context: {},
          detail: `${roleArn} ${form.get('RoleSessionName')}`,
        },
      ];
    }
    if (service === 'cloudformation' && action === 'ListStackInstances') {
      // A StackSet's ARN ends in its unique id, which the request does not carry (it names the StackSet).
      const region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(auth)?.[1] ?? stack.region;
      const name = form.get('StackSetName')!;
      const resource = `arn:aws:cloudformation:${region}:${stack.accountId}:stackset/${name}:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`;
      return [{ action: 'cloudformation:ListStackInstances', resource, context: {}, detail: name }];
    }
    throw new Error(`a request to ${service}, which the proof does not model yet`);
  }

  /** The stack's KMS key a topic of the template is encrypted with, or null (none, or an AWS managed key). */
  private topicKey(topicArn: string): { arn: string; policy: unknown } | null {
    const { template, stack } = this.known;
    for (const [id, r] of Object.entries(template.Resources)) {
      if (r.Type !== 'AWS::SNS::Topic' || resolve(template, stack, { Ref: id }) !== topicArn) continue;
      const key = r.Properties.KmsMasterKeyId;
      if (typeof key !== 'object' || key === null) return null;
      const keyId = (key['Fn::GetAtt'] ?? [key.Ref])[0] as string;
      return {
        arn: String(resolve(template, stack, key)),
        policy: resolve(template, stack, template.Resources[keyId]!.Properties.KeyPolicy),
      };
    }
    return null;
  }

  private dynamo(received: Received): AwsCall[] {
    const action = String(received.headers['x-amz-target']).split('.')[1]!;
    const body = JSON.parse(received.body) as Record<string, any>;
    const one = (iamAction: string, request: Record<string, any>): AwsCall => {
      const table = this.table(request.TableName);
      const index = request.IndexName as string | undefined;
      const hash = index ? table.indexHash(index) : table.hash;
      let leading: string | undefined;
      const key = request.Key ?? request.Item;
      if (key) leading = key[hash]?.S;
      else if (request.KeyConditionExpression) {
        const names = request.ExpressionAttributeNames ?? {};
        const alias = Object.keys(names).find((n) => names[n] === hash);
        const match = new RegExp(`(?:^|\\s|\\()(?:${hash}${alias ? `|${alias}` : ''})\\s*=\\s*(:\\w+)`).exec(
          request.KeyConditionExpression,
        );
        leading = match ? request.ExpressionAttributeValues?.[match[1]!]?.S : undefined;
      }
      const context: Record<string, string | string[]> = leading ? { 'dynamodb:LeadingKeys': [leading] } : {};
      return {
        action: `dynamodb:${iamAction}`,
        resource: index ? `${table.arn}/index/${index}` : table.arn,
        context,
        detail: `${table.logicalId}${index ? `/${index}` : ''} ${leading ?? ''}`.trim(),
      };
    };
    if (action === 'TransactWriteItems')
      return body.TransactItems.map((item: Record<string, any>) => {
        const [kind, request] = Object.entries(item)[0]!;
        const name = {
          Put: 'PutItem',
          Update: 'UpdateItem',
          Delete: 'DeleteItem',
          ConditionCheck: 'ConditionCheckItem',
        };
        return one(name[kind as keyof typeof name], request);
      });
    if (action === 'TransactGetItems') return body.TransactItems.map((item: any) => one('GetItem', item.Get));
    if (action === 'BatchWriteItem')
      return Object.entries(body.RequestItems as Record<string, any[]>).flatMap(([TableName, items]) =>
        items.map((item) =>
          item.PutRequest
            ? one('BatchWriteItem', { TableName, ...item.PutRequest })
            : one('BatchWriteItem', { TableName, ...item.DeleteRequest }),
        ),
      );
    if (action === 'BatchGetItem')
      return Object.entries(body.RequestItems as Record<string, { Keys: any[] }>).flatMap(([TableName, r]) =>
        r.Keys.map((Key) => one('BatchGetItem', { TableName, Key })),
      );
    return [one(action, body)];
  }

  private table(local: string) {
    const logicalId = this.known.tables[local];
    if (!logicalId) throw new Error(`a request to table ${local}, which the proof's table map does not name`);
    const { Properties: p } = this.known.template.Resources[logicalId]!;
    const hashOf = (schema: { AttributeName: string; KeyType: string }[]) =>
      schema.find((k) => k.KeyType === 'HASH')!.AttributeName;
    const { stack } = this.known;
    return {
      logicalId,
      arn: `arn:aws:dynamodb:${stack.region}:${stack.accountId}:table/${p.TableName}`,
      hash: hashOf(p.KeySchema),
      indexHash: (index: string) => {
        const gsi = (p.GlobalSecondaryIndexes ?? []).find((g: any) => g.IndexName === index);
        if (!gsi) throw new Error(`${logicalId} has no index ${index} in the template`);
        return hashOf(gsi.KeySchema);
      },
    };
  }
}
