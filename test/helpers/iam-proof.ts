// The permission proof: every AWS request a function sends in the tests, evaluated with the IAM evaluator against that
// function's own role in the packaged CloudFormation template. See docs/permission-proof.md for how a new function
// takes part.
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { AwsCall } from './aws-recorder.js';
import { resolve, type Stack, type Template } from './cfn.js';

export { type AwsCall, CallRecorder, type RoleMap, recordingProxy, type TableMap } from './aws-recorder.js';

/**
 * The requests the Lambda service itself sends with the function's role: its logs, for asynchronous invocations
 * with an on-failure destination the dead-letter message, and for an SQS event source the poller's reads.
 */
export function platformCalls(template: Template, stack: Stack, functionId: string): AwsCall[] {
  const fn = template.Resources[functionId]!.Properties;
  const group = `arn:aws:logs:${stack.region}:${stack.accountId}:log-group:/aws/lambda/${fn.FunctionName}`;
  const calls: AwsCall[] = ['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => ({
    action,
    resource: `${group}:log-stream:2026/11/30/[$LATEST]0123456789abcdef`,
    context: {},
    detail: 'the Lambda runtime',
  }));
  const config = Object.values(template.Resources).find(
    (r) =>
      r.Type === 'AWS::Lambda::EventInvokeConfig' && JSON.stringify(r.Properties.FunctionName).includes(functionId),
  );
  const destination = config?.Properties.DestinationConfig?.OnFailure?.Destination;
  if (destination)
    calls.push({
      action: 'sqs:SendMessage',
      resource: resolve(template, stack, destination),
      context: {},
      detail: 'the on-failure destination',
    });
  for (const mapping of Object.values(template.Resources).filter(
    (r) =>
      r.Type === 'AWS::Lambda::EventSourceMapping' && JSON.stringify(r.Properties.FunctionName).includes(functionId),
  )) {
    const queue = resolve(template, stack, mapping.Properties.EventSourceArn) as string;
    if (!queue.startsWith(`arn:aws:sqs:`)) continue;
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'])
      calls.push({ action, resource: queue, context: {}, detail: 'the SQS event source (Lambda poller)' });
  }
  return calls;
}

/** One statement of the role with one of its actions, and what the proof found for it. */
export interface GrantUse {
  sid: string;
  action: string;
  usedBy: string[];
}

/** The proof's verdict on one role. */
export interface RoleProof {
  denied: { call: AwsCall; result: string }[];
  unused: GrantUse[];
  grants: GrantUse[];
}

/**
 * Evaluate each call against the role's inline policies in the template (all of them together: explicit Deny
 * statements count), and find which Allow statement-action pairs no call used.
 */
export async function proveRole(
  template: Template,
  stack: Stack,
  roleId: string,
  calls: AwsCall[],
): Promise<RoleProof> {
  const role = resolve(template, stack, template.Resources[roleId]!.Properties) as {
    Policies: { PolicyName: string; PolicyDocument: { Statement: any[] } }[];
  };
  const principal = `arn:aws:sts::${stack.accountId}:assumed-role/${roleId}/fn`;
  const decide = async (call: AwsCall, policies: { name: string; policy: unknown }[]) => {
    const result = await runSimulation(
      {
        request: {
          principal,
          action: call.action,
          resource: { resource: call.resource, accountId: stack.accountId },
          contextVariables: call.context,
        },
        identityPolicies: policies,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(call.resourcePolicy ? { resourcePolicy: call.resourcePolicy } : {}),
      },
      {},
    );
    if (result.resultType === 'error')
      throw new Error(`${call.action} on ${call.resource}: ${JSON.stringify(result.errors)}`);
    return result.overallResult;
  };
  const all = role.Policies.map((p) => ({ name: p.PolicyName, policy: p.PolicyDocument }));
  const denied: RoleProof['denied'] = [];
  for (const call of calls) {
    const result = await decide(call, all);
    if (result !== 'Allowed') denied.push({ call, result });
  }
  const grants: GrantUse[] = [];
  for (const statement of role.Policies.flatMap((p) => p.PolicyDocument.Statement)) {
    if (statement.Effect !== 'Allow') continue;
    for (const action of [statement.Action].flat() as string[]) {
      const use: GrantUse = { sid: statement.Sid, action, usedBy: [] };
      const alone = [{ name: 'one', policy: { Version: '2012-10-17', Statement: [{ ...statement, Action: action }] } }];
      for (const call of calls.filter((c) => c.action === action))
        if ((await decide(call, alone)) === 'Allowed') use.usedBy.push(call.detail);
      grants.push(use);
    }
  }
  return { denied, unused: grants.filter((g) => g.usedBy.length === 0), grants };
}
