import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  UpdateStackCommand,
} from '@aws-sdk/client-cloudformation';
import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { spokeGlobalTemplate, spokeRegionalTemplate } from '../../../lib/org/index.js';
import { runCli } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'roleguard-org-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HUB = ['--stage', 'prod', '--hub-account', '111122223333', '--home-region', 'eu-west-1'];

describe('roleguard org templates', () => {
  it('writes spoke-global.json and spoke-regional.json, with the flags as parameter defaults', async () => {
    const out = join(dir, 'spokes', 'prod');
    const { status, stdout } = await runCli(['org', 'templates', ...HUB, '--org-id', 'o-a1b2c3d4e5', '--out', out]);
    expect(status).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([join(out, 'spoke-global.json'), join(out, 'spoke-regional.json')]);
    const global = JSON.parse(readFileSync(join(out, 'spoke-global.json'), 'utf8'));
    const regional = JSON.parse(readFileSync(join(out, 'spoke-regional.json'), 'utf8'));
    const defaults = { stage: 'prod', hubAccountId: '111122223333', hubRegion: 'eu-west-1', orgId: 'o-a1b2c3d4e5' };
    expect(global).toEqual(spokeGlobalTemplate(defaults));
    expect(regional).toEqual(spokeRegionalTemplate(defaults));
    expect(global.Parameters.HubAccountId.Default).toBe('111122223333');
    expect(regional.Parameters.OrgId.Default).toBe('o-a1b2c3d4e5');
    expect(global.Parameters.AllowWrites.Default).toBe('false');
  });

  it('leaves the parameters without defaults when their flags are not given', async () => {
    const out = join(dir, 'bare');
    expect((await runCli(['org', 'templates', '--stage', 'dev', '--out', out])).status).toBe(0);
    const global = JSON.parse(readFileSync(join(out, 'spoke-global.json'), 'utf8'));
    expect(global.Parameters.Stage.Default).toBe('dev');
    expect(global.Parameters.HubAccountId.Default).toBeUndefined();
    expect(global.Parameters.OrgId.Default).toBe('');
  });

  it('refuses bad values, naming each', async () => {
    const { status, stderr } = await runCli([
      'org',
      'templates',
      '--stage',
      'prod',
      '--hub-account',
      '1234',
      '--org-id',
      'org-1',
      '--out',
      join(dir, 'bad'),
    ]);
    expect(status).toBe(2);
    expect(stderr).toContain('--hub-account 1234: an account id has 12 digits');
    expect(stderr).toContain('--org-id org-1');
  });
});

/** The `aws cloudformation deploy` commands printed, as region, stack, template file and parameters. */
function deploys(script: string) {
  return script
    .replace(/ \\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('aws cloudformation deploy'))
    .map((line) => ({
      region: /--region (\S+)/.exec(line)![1],
      stack: /--stack-name (\S+)/.exec(line)![1],
      file: /--template-file (\S+)/.exec(line)![1],
      parameters: /--parameter-overrides (.*?)(?: --profile|$)/.exec(line)![1]!.split(' '),
      named: line.includes('--capabilities CAPABILITY_NAMED_IAM'),
    }));
}

describe('roleguard org bootstrap-management', () => {
  const ORG = ['--org-id', 'o-a1b2c3d4e5'];
  const cfn = mockClient(CloudFormationClient);
  beforeEach(() => {
    cfn.reset();
  });

  it('prints the plain stacks: the global spoke in us-east-1, the regional spoke in each Region', async () => {
    const args = ['org', 'bootstrap-management', ...HUB, ...ORG, '--regions', 'us-east-1,eu-west-1,ap-southeast-2'];
    const { status, stdout } = await runCli(args);
    expect(status).toBe(0);
    expect(stdout).toContain(
      'roleguard org templates --stage prod --out roleguard-spokes --hub-account 111122223333 --home-region eu-west-1 --org-id o-a1b2c3d4e5',
    );
    const common = ['Stage=prod', 'HubAccountId=111122223333', 'HubRegion=eu-west-1', 'OrgId=o-a1b2c3d4e5'];
    expect(deploys(stdout)).toEqual([
      {
        region: 'us-east-1',
        stack: 'roleguard-prod-spoke-global',
        file: 'roleguard-spokes/spoke-global.json',
        parameters: [...common, 'AllowWrites=false'],
        named: true,
      },
      ...['us-east-1', 'eu-west-1', 'ap-southeast-2'].map((region) => ({
        region,
        stack: 'roleguard-prod-spoke-regional',
        file: 'roleguard-spokes/spoke-regional.json',
        parameters: [...common, 'RecordAwsServiceAssumes=false'],
        named: true,
      })),
    ]);
    expect(cfn.calls()).toHaveLength(0);
  });

  it("prints a loop over the account's Regions with --all-regions, and passes the flags on", async () => {
    const args = ['org', 'bootstrap-management', ...HUB, '--all-regions', '--allow-writes', '--profile', 'mgmt'];
    const { status, stdout } = await runCli(args);
    expect(status).toBe(0);
    expect(stdout).toContain(
      "for region in $(aws ec2 describe-regions --query 'Regions[].RegionName' --output text --profile mgmt); do",
    );
    const [global, regional] = deploys(stdout);
    expect(global!.parameters).toEqual(expect.arrayContaining(["OrgId=''", 'AllowWrites=true']));
    expect(regional!.region).toBe('"$region"');
    expect(stdout).toMatch(/--profile mgmt\n/);
  });

  it.each([
    [[], /--regions r1,r2.*or --all-regions/],
    [['--regions', 'eu-west-1', '--all-regions'], /not both/],
    [['--all-regions', '--apply'], /--apply needs the Regions named/],
    [['--regions', 'eu-west-1,moon-base'], /moon-base is not a Region name/],
  ])('refuses %j', async (extra, message) => {
    const { status, stderr } = await runCli(['org', 'bootstrap-management', ...HUB, ...extra]);
    expect(status).toBe(2);
    expect(stderr).toMatch(message);
    expect(cfn.calls()).toHaveLength(0);
  });

  /** CloudFormation, faked per Region: stacks by `region/name`, and the status a create or update ends in. */
  function fakeCloudFormation(existing: string[], outcome: (key: string) => string = () => 'COMPLETE') {
    const stacks = new Map(existing.map((key) => [key, 'CREATE_COMPLETE']));
    const keyOf = async (getClient: () => CloudFormationClient, name: string) =>
      `${await getClient().config.region()}/${name}`;
    cfn.on(DescribeStacksCommand).callsFake(async (input, getClient) => {
      const status = stacks.get(await keyOf(getClient, input.StackName));
      if (!status)
        throw Object.assign(new Error(`Stack with id ${input.StackName} does not exist`), { name: 'ValidationError' });
      return { Stacks: [{ StackName: input.StackName, StackStatus: status, CreationTime: new Date() }] };
    });
    cfn.on(CreateStackCommand).callsFake(async (input, getClient) => {
      const key = await keyOf(getClient, input.StackName);
      stacks.set(key, outcome(key) === 'COMPLETE' ? 'CREATE_COMPLETE' : 'ROLLBACK_COMPLETE');
      return { StackId: key };
    });
    cfn.on(UpdateStackCommand).callsFake(async (input, getClient) => {
      const key = await keyOf(getClient, input.StackName);
      if (outcome(key) === 'UNCHANGED')
        throw Object.assign(new Error('No updates are to be performed.'), { name: 'ValidationError' });
      stacks.set(key, 'UPDATE_COMPLETE');
      return { StackId: key };
    });
    cfn.on(DescribeStackEventsCommand).resolves({
      StackEvents: [
        { LogicalResourceId: 'StsAssumeRule', ResourceStatus: 'DELETE_COMPLETE' },
        {
          LogicalResourceId: 'ForwarderRole',
          ResourceStatus: 'CREATE_FAILED',
          ResourceStatusReason:
            'User is not authorized to perform iam:CreateRole with an explicit deny in a service control policy',
        },
        {
          LogicalResourceId: 'roleguard-prod-spoke-regional',
          ResourceStatus: 'CREATE_IN_PROGRESS',
          ResourceStatusReason: 'User Initiated',
        },
        { LogicalResourceId: 'Old', ResourceStatus: 'CREATE_FAILED', ResourceStatusReason: 'an earlier failure' },
      ] as never,
    });
    return stacks;
  }

  it('--apply creates the missing stacks and updates the existing one, each in its Region', async () => {
    const stacks = fakeCloudFormation(
      ['us-east-1/roleguard-prod-spoke-global', 'us-east-1/roleguard-prod-spoke-regional'],
      (key) => (key === 'us-east-1/roleguard-prod-spoke-regional' ? 'UNCHANGED' : 'COMPLETE'),
    );
    const args = ['org', 'bootstrap-management', ...HUB, ...ORG, '--regions', 'us-east-1,eu-west-1', '--apply'];
    const { status, stdout } = await runCli([...args, '--allow-writes']);
    expect(status).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      'updated roleguard-prod-spoke-global in us-east-1',
      'unchanged roleguard-prod-spoke-regional in us-east-1',
      'created roleguard-prod-spoke-regional in eu-west-1',
    ]);
    expect(stacks.get('eu-west-1/roleguard-prod-spoke-regional')).toBe('CREATE_COMPLETE');
    const [update] = cfn.commandCalls(UpdateStackCommand).map((c) => c.args[0].input);
    expect(JSON.parse(update!.TemplateBody!)).toEqual(spokeGlobalTemplate());
    expect(update!.Capabilities).toEqual(['CAPABILITY_NAMED_IAM']);
    expect(update!.Parameters).toEqual(
      expect.arrayContaining([
        { ParameterKey: 'AllowWrites', ParameterValue: 'true' },
        { ParameterKey: 'OrgId', ParameterValue: 'o-a1b2c3d4e5' },
      ]),
    );
    const [create] = cfn.commandCalls(CreateStackCommand).map((c) => c.args[0].input);
    expect(JSON.parse(create!.TemplateBody!)).toEqual(spokeRegionalTemplate());
    expect(create!.Parameters).toEqual(
      expect.arrayContaining([{ ParameterKey: 'RecordAwsServiceAssumes', ParameterValue: 'false' }]),
    );
  });

  it("--apply reports a stack that rolled back, with CloudFormation's reason, and still deploys the others", async () => {
    fakeCloudFormation([], (key) => (key === 'eu-west-1/roleguard-prod-spoke-regional' ? 'FAILED' : 'COMPLETE'));
    const args = ['org', 'bootstrap-management', ...HUB, ...ORG, '--regions', 'eu-west-1,ap-southeast-2', '--apply'];
    const { status, stdout, stderr } = await runCli(args);
    expect(status).toBe(1);
    expect(stdout).toContain('created roleguard-prod-spoke-global in us-east-1');
    expect(stdout).toContain('created roleguard-prod-spoke-regional in ap-southeast-2');
    expect(stderr).toMatch(
      /roleguard-prod-spoke-regional in eu-west-1: .*ForwarderRole: User is not authorized.*service control policy/,
    );
    expect(stderr).not.toContain('an earlier failure');
    expect(stderr).toContain('1 of 3 stacks failed');
  });

  it('--apply stops at an AWS error (no access), before touching any other Region', async () => {
    cfn.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: cloudformation:DescribeStacks'), {
        name: 'AccessDenied',
      }),
    );
    const args = ['org', 'bootstrap-management', ...HUB, ...ORG, '--regions', 'eu-west-1,ap-southeast-2', '--apply'];
    const { status, stderr } = await runCli(args);
    expect(status).toBe(1);
    expect(stderr).toContain('stopped at roleguard-prod-spoke-global in us-east-1: User is not authorized');
    expect(cfn.calls()).toHaveLength(1);
  });

  it('--apply refuses a stack left in ROLLBACK_COMPLETE, saying how to clear it', async () => {
    const stacks = fakeCloudFormation([]);
    stacks.set('us-east-1/roleguard-prod-spoke-global', 'ROLLBACK_COMPLETE');
    const args = ['org', 'bootstrap-management', ...HUB, ...ORG, '--regions', 'eu-west-1', '--apply'];
    const { status, stderr } = await runCli(args);
    expect(status).toBe(1);
    expect(stderr).toContain(
      'aws cloudformation delete-stack --region us-east-1 --stack-name roleguard-prod-spoke-global',
    );
    expect(cfn.commandCalls(CreateStackCommand).map((c) => c.args[0].input.StackName)).toEqual([
      'roleguard-prod-spoke-regional',
    ]);
  });
});
