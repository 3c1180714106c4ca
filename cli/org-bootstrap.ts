import { OrgOptionError, planManagementStacks, type SpokeStack } from '../lib/org/bootstrap.js';
import { GLOBAL_SPOKE_REGION, SPOKE_TEMPLATE_FILES } from '../lib/org/templates.js';
import { EXIT } from './exit-codes.js';

/** The flags of `roleguard org bootstrap-management`. */
export interface BootstrapFlags {
  stage: string;
  hubAccount: string;
  homeRegion: string;
  orgId?: string;
  regions?: string;
  allRegions?: boolean;
  allowWrites?: boolean;
  recordAwsService?: boolean;
  out: string;
  apply?: boolean;
  profile?: string;
}

const say = (text: string): void => {
  process.stderr.write(`${text}\n`);
};

/** A word for a POSIX shell: quoted only when it has to be. */
const shell = (word: string): string => (/^[\w.,:/=@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

const allRegions = (profile?: string): string =>
  `$(aws ec2 describe-regions --query 'Regions[].RegionName' --output text${profile ? ` --profile ${shell(profile)}` : ''})`;

function deployCommand(stack: SpokeStack, flags: BootstrapFlags, region = stack.region): string {
  const file = `${flags.out.replace(/\/$/, '')}/${SPOKE_TEMPLATE_FILES[stack.kind]}`;
  const overrides = Object.entries(stack.parameters).map(([k, v]) => (v === '' ? `${k}=''` : shell(`${k}=${v}`)));
  return [
    `aws cloudformation deploy --region ${region} --stack-name ${stack.stackName}`,
    `    --template-file ${shell(file)} --capabilities CAPABILITY_NAMED_IAM --no-fail-on-empty-changeset`,
    `    --parameter-overrides ${overrides.join(' ')}${flags.profile ? ` --profile ${shell(flags.profile)}` : ''}`,
  ].join(' \\\n');
}

/** The shell commands that deploy the plain stacks (what --apply does itself). */
export function bootstrapScript(stacks: SpokeStack[], flags: BootstrapFlags): string {
  const templates = [
    'roleguard org templates',
    `--stage ${shell(flags.stage)}`,
    `--out ${shell(flags.out)}`,
    `--hub-account ${flags.hubAccount}`,
    `--home-region ${flags.homeRegion}`,
    ...(flags.orgId ? [`--org-id ${flags.orgId}`] : []),
  ].join(' ');
  const [global, ...regional] = stacks as [SpokeStack, ...SpokeStack[]];
  const lines = [
    '# roleguard spokes for the management account, which service-managed StackSets never deploy to.',
    '# Run with credentials of the management account; every command can be run again (it updates the stack).',
    templates,
    `# The global spoke (the role the hub assumes), once, in ${GLOBAL_SPOKE_REGION}:`,
    deployCommand(global, flags),
  ];
  if (flags.allRegions) {
    lines.push(
      '# The regional spoke in every Region the account has enabled:',
      `for region in ${allRegions(flags.profile)}; do`,
      `  ${deployCommand(regional[0]!, flags, '"$region"').replace(/\n/g, '\n  ')}`,
      'done',
    );
  } else {
    lines.push('# The regional spoke, in each Region:', ...regional.map((stack) => deployCommand(stack, flags)));
  }
  return `${lines.join('\n')}\n`;
}

function plan(flags: BootstrapFlags): SpokeStack[] | string {
  if (flags.regions && flags.allRegions) return 'give --regions or --all-regions, not both';
  if (!flags.regions && !flags.allRegions)
    return 'give --regions r1,r2 (the Regions the account has enabled) or --all-regions';
  if (flags.allRegions && flags.apply)
    return `--apply needs the Regions named: --regions "$(aws ec2 describe-regions --query 'Regions[].RegionName' --output text | tr '\\t' ',')"`;
  try {
    return planManagementStacks({
      stage: flags.stage,
      hubAccountId: flags.hubAccount,
      homeRegion: flags.homeRegion,
      ...(flags.orgId !== undefined ? { orgId: flags.orgId } : {}),
      // --all-regions prints a loop over the account's Regions; the home Region stands in for it in the plan.
      regions: flags.allRegions
        ? [flags.homeRegion]
        : (flags.regions ?? '')
            .split(',')
            .map((r) => r.trim())
            .filter(Boolean),
      allowWrites: flags.allowWrites === true,
      recordAwsServiceAssumes: flags.recordAwsService === true,
    });
  } catch (error) {
    if (error instanceof OrgOptionError) return error.message;
    throw error;
  }
}

/** Deploy each stack in turn; a stack that fails is reported and the others still go, but an AWS error stops. */
async function apply(stacks: SpokeStack[], flags: BootstrapFlags): Promise<number> {
  if (flags.profile) process.env.AWS_PROFILE = flags.profile;
  // Loaded here, so the other roleguard commands do not pay for loading the CloudFormation SDK.
  const { CloudFormationClient } = await import('@aws-sdk/client-cloudformation');
  const { applyStack, StackDeployError } = await import('../lib/org/apply-stack.js');
  const failed: string[] = [];
  for (const stack of stacks) {
    say(`deploying ${stack.stackName} in ${stack.region}…`);
    const cfn = new CloudFormationClient({ region: stack.region, maxAttempts: 5 });
    try {
      const outcome = await applyStack(cfn, stack);
      process.stdout.write(`${outcome} ${stack.stackName} in ${stack.region}\n`);
    } catch (error) {
      if (!(error instanceof StackDeployError)) {
        say(
          `roleguard org bootstrap-management: stopped at ${stack.stackName} in ${stack.region}: ${(error as Error).message}`,
        );
        return EXIT.failed;
      }
      failed.push(error.message);
      say(`roleguard org bootstrap-management: ${error.message}`);
    } finally {
      cfn.destroy();
    }
  }
  if (failed.length === 0) return EXIT.ok;
  say(
    `roleguard org bootstrap-management: ${failed.length} of ${stacks.length} stacks failed (above); fix and run again`,
  );
  return EXIT.failed;
}

/** `roleguard org bootstrap-management`: print, or with --apply deploy, the management account's spokes. */
export async function bootstrapManagement(flags: BootstrapFlags): Promise<number> {
  const stacks = plan(flags);
  if (typeof stacks === 'string') {
    say(`roleguard org bootstrap-management:\n  ${stacks.split('\n').join('\n  ')}`);
    return EXIT.usage;
  }
  if (!flags.apply) {
    process.stdout.write(bootstrapScript(stacks, flags));
    say('roleguard org bootstrap-management: printed the commands; run them, or run again with --apply.');
    return EXIT.ok;
  }
  return apply(stacks, flags);
}
