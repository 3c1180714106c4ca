import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { templateOptionProblems } from '../lib/org/bootstrap.js';
import {
  SPOKE_TEMPLATE_FILES,
  type SpokeDefaults,
  spokeGlobalTemplateBody,
  spokeRegionalTemplateBody,
} from '../lib/org/templates.js';
import { EXIT } from './exit-codes.js';
import { type BootstrapFlags, bootstrapManagement } from './org-bootstrap.js';

interface TemplatesFlags {
  stage: string;
  out: string;
  hubAccount?: string;
  homeRegion?: string;
  orgId?: string;
}

const say = (text: string): void => {
  process.stderr.write(`${text}\n`);
};

function writeTemplates(flags: TemplatesFlags): number {
  const problems = templateOptionProblems({
    stage: flags.stage,
    hubAccountId: flags.hubAccount,
    homeRegion: flags.homeRegion,
    orgId: flags.orgId,
  });
  if (problems.length > 0) {
    say(`roleguard org templates:\n  ${problems.join('\n  ')}`);
    return EXIT.usage;
  }
  const defaults: SpokeDefaults = {
    stage: flags.stage,
    ...(flags.hubAccount ? { hubAccountId: flags.hubAccount } : {}),
    ...(flags.homeRegion ? { hubRegion: flags.homeRegion } : {}),
    ...(flags.orgId ? { orgId: flags.orgId } : {}),
  };
  try {
    mkdirSync(flags.out, { recursive: true });
    const files = [
      [join(flags.out, SPOKE_TEMPLATE_FILES.global), spokeGlobalTemplateBody(defaults)],
      [join(flags.out, SPOKE_TEMPLATE_FILES.regional), spokeRegionalTemplateBody(defaults)],
    ] as const;
    for (const [path, body] of files) {
      writeFileSync(path, body);
      process.stdout.write(`${path}\n`);
    }
  } catch (error) {
    say(`roleguard org templates: cannot write to ${flags.out}: ${(error as Error).message}`);
    return EXIT.failed;
  }
  return EXIT.ok;
}

/**
 * `roleguard org`: guard an AWS Organization from one hub. Returns the `org` command, so further subcommands
 * (`org status`) attach to it.
 */
export function registerOrg(program: Command): Command {
  const org = program
    .command('org')
    .description('Guard a whole AWS Organization from one hub: the spoke templates and the management account');
  org
    .command('templates')
    .description('Write the spoke templates: spoke-global.json (us-east-1, once per account) and spoke-regional.json')
    .requiredOption('--stage <stage>', "the hub's stage")
    .requiredOption('--out <dir>', 'folder to write the two templates to (created if missing)')
    .option('--hub-account <id>', "the hub's account, written as the HubAccountId parameter's default")
    .option('--home-region <region>', "the hub's home Region, written as the HubRegion parameter's default")
    .option('--org-id <o-…>', "the organization, written as the OrgId parameter's default (default: empty)")
    .addHelpText(
      'after',
      `
Examples:
  roleguard org templates --stage prod --out spokes/
  roleguard org templates --stage prod --out spokes/ --hub-account 111122223333 --home-region eu-west-1 \\
      --org-id o-a1b2c3d4e5

The hub's StackSets deploy the same two templates (parameters Stage, HubAccountId, HubRegion, OrgId, and
AllowWrites on the global spoke, RecordAwsServiceAssumes on the regional one). See docs/organization.md.
Exit status: 0 written, 1 the folder cannot be written, 2 bad arguments.`,
    )
    .action((flags: TemplatesFlags) => {
      process.exitCode = writeTemplates(flags);
    });
  org
    .command('bootstrap-management')
    .description(
      "Print (or --apply: deploy) the spokes of the management account, which the hub's StackSets never reach",
    )
    .requiredOption('--stage <stage>', "the hub's stage")
    .requiredOption('--hub-account <id>', "the hub's account")
    .requiredOption('--home-region <region>', "the hub's home Region")
    .option('--org-id <o-…>', 'the organization (without it: an organization of one, run in the hub account)')
    .option(
      '--regions <regions>',
      'comma-separated Regions for the regional spoke (every Region the account has enabled)',
    )
    .option('--all-regions', "print a loop over the account's enabled Regions (aws ec2 describe-regions)")
    .option('--allow-writes', 'let the hub revoke and rotate on roles tagged roleguard:guarded=true in this account')
    .option('--record-aws-service', 'also forward assumes made by AWS services')
    .option(
      '--out <dir>',
      'where the printed commands expect the templates (roleguard org templates --out)',
      'roleguard-spokes',
    )
    .option('--apply', 'create or update the stacks now, with your AWS credentials (the management account)')
    .option('--profile <profile>', 'AWS profile of the management account')
    .addHelpText(
      'after',
      `
Examples:
  roleguard org bootstrap-management --stage prod --hub-account 111122223333 --home-region eu-west-1 \\
      --org-id o-a1b2c3d4e5 --all-regions > bootstrap.sh
  roleguard org bootstrap-management --stage prod --hub-account 111122223333 --home-region eu-west-1 \\
      --org-id o-a1b2c3d4e5 --regions us-east-1,eu-west-1 --apply --profile management

The global spoke goes to us-east-1 as the stack roleguard-<stage>-spoke-global; the regional spoke to each
Region as roleguard-<stage>-spoke-regional. Both can be run again: an existing stack is updated.
Exit status: 0 printed or deployed, 1 a stack failed or AWS refused (with CloudFormation's reason), 2 bad arguments.`,
    )
    .action(async (flags: BootstrapFlags) => {
      process.exitCode = await bootstrapManagement(flags);
    });
  return org;
}
