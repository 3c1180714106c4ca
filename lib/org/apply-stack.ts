/**
 * Creates or updates one plain CloudFormation stack and waits for it to settle: the adapter behind
 * `roleguard org bootstrap-management --apply`. It takes its client, so the tests give it a mocked one.
 */
import {
  type CloudFormationClient,
  CreateStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  type Stack,
  UpdateStackCommand,
  waitUntilStackCreateComplete,
  waitUntilStackUpdateComplete,
} from '@aws-sdk/client-cloudformation';
import type { SpokeStack } from './bootstrap.js';

/** A stack that did not reach a complete state, with CloudFormation's reason. */
export class StackDeployError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StackDeployError';
  }
}

/** What happened to a stack. */
export type StackOutcome = 'created' | 'updated' | 'unchanged';

/** How long to wait for one stack (a role and two rules take a minute or two). */
const MAX_WAIT_SECONDS = 30 * 60;

async function current(cfn: CloudFormationClient, stackName: string): Promise<Stack | undefined> {
  try {
    return (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  } catch (error) {
    // DescribeStacks answers a missing stack with a ValidationError "Stack with id … does not exist".
    if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message))
      return undefined;
    throw error;
  }
}

/** The first failure CloudFormation recorded for the stack, to name the resource that failed and why. */
async function firstFailure(cfn: CloudFormationClient, stackName: string): Promise<string> {
  try {
    // Newest first: this operation's events run back to the stack's own "User Initiated" event.
    const events = (await cfn.send(new DescribeStackEventsCommand({ StackName: stackName }))).StackEvents ?? [];
    const start = events.findIndex((e) => e.ResourceStatusReason === 'User Initiated');
    const failures = events
      .slice(0, start < 0 ? events.length : start)
      .filter((e) => e.ResourceStatus?.endsWith('_FAILED') && e.ResourceStatusReason);
    const first = failures.at(-1);
    return first ? `${first.LogicalResourceId}: ${first.ResourceStatusReason}` : 'no reason recorded';
  } catch {
    return 'its events could not be read';
  }
}

/** Create the stack, or update it when it exists; resolves once CloudFormation reports it complete. */
export async function applyStack(cfn: CloudFormationClient, stack: SpokeStack): Promise<StackOutcome> {
  const where = `${stack.stackName} in ${stack.region}`;
  const input = {
    StackName: stack.stackName,
    TemplateBody: stack.templateBody,
    Parameters: Object.entries(stack.parameters).map(([ParameterKey, ParameterValue]) => ({
      ParameterKey,
      ParameterValue,
    })),
    Capabilities: ['CAPABILITY_NAMED_IAM' as const],
    Tags: [{ Key: 'roleguard:component', Value: `spoke-${stack.kind}` }],
  };
  const existing = await current(cfn, stack.stackName);
  if (existing?.StackStatus === 'ROLLBACK_COMPLETE')
    throw new StackDeployError(
      `${where} failed to create earlier and is in ROLLBACK_COMPLETE: delete it (aws cloudformation delete-stack --region ${stack.region} --stack-name ${stack.stackName}) and run again`,
    );
  if (existing?.StackStatus?.endsWith('_IN_PROGRESS'))
    throw new StackDeployError(`${where} is busy (${existing.StackStatus}): run again once it has settled`);
  const wait = { client: cfn, maxWaitTime: MAX_WAIT_SECONDS };
  try {
    if (!existing) {
      await cfn.send(new CreateStackCommand({ ...input, OnFailure: 'ROLLBACK' }));
      await waitUntilStackCreateComplete(wait, { StackName: stack.stackName });
      return 'created';
    }
    try {
      await cfn.send(new UpdateStackCommand(input));
    } catch (error) {
      if (/No updates are to be performed/.test((error as Error).message)) return 'unchanged';
      throw error;
    }
    await waitUntilStackUpdateComplete(wait, { StackName: stack.stackName });
    return 'updated';
  } catch (error) {
    if (error instanceof StackDeployError) throw error;
    const reason = await firstFailure(cfn, stack.stackName);
    throw new StackDeployError(`${where}: ${(error as Error).message.split('\n')[0]} (${reason})`, { cause: error });
  }
}
