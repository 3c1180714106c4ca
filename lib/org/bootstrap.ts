/**
 * The management account's spokes as plain stacks: service-managed StackSets never deploy to the management account,
 * so `roleguard org bootstrap-management` deploys the same two templates there itself (or prints how). Pure: the
 * options are checked and turned into a list of stacks; the CLI prints or applies them.
 */
import { GLOBAL_SPOKE_REGION, spokeGlobalTemplateBody, spokeRegionalTemplateBody } from './templates.js';

/** Bad options for an organization command: the message lists every problem. */
export class OrgOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OrgOptionError';
  }
}

/** What the operator asked for. */
export interface BootstrapOptions {
  stage: string;
  hubAccountId: string;
  homeRegion: string;
  orgId?: string;
  regions: string[];
  allowWrites: boolean;
  recordAwsServiceAssumes: boolean;
}

/** One plain stack to create or update. */
export interface SpokeStack {
  kind: 'global' | 'regional';
  region: string;
  stackName: string;
  templateBody: string;
  parameters: Record<string, string>;
}

const STAGE = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,23}$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ORG_ID = /^o-[a-z0-9]{10,32}$/;

/** Every problem with the template options (stage, hub account, home Region, organization), as sentences. */
export function templateOptionProblems(o: {
  stage?: string;
  hubAccountId?: string;
  homeRegion?: string;
  orgId?: string;
}): string[] {
  const problems: string[] = [];
  if (o.stage !== undefined && !STAGE.test(o.stage))
    problems.push(`--stage ${o.stage}: letters, digits and hyphens, at most 24 characters`);
  if (o.hubAccountId !== undefined && !ACCOUNT.test(o.hubAccountId))
    problems.push(`--hub-account ${o.hubAccountId}: an account id has 12 digits`);
  if (o.homeRegion !== undefined && !REGION.test(o.homeRegion))
    problems.push(`--home-region ${o.homeRegion}: not a Region name (e.g. eu-west-1)`);
  if (o.orgId !== undefined && o.orgId !== '' && !ORG_ID.test(o.orgId))
    problems.push(`--org-id ${o.orgId}: an organization id is o- followed by 10 to 32 lowercase letters or digits`);
  return problems;
}

/** The stacks for the management account: the global spoke in us-east-1, then one regional spoke per Region. */
export function planManagementStacks(options: BootstrapOptions): SpokeStack[] {
  const problems = templateOptionProblems(options);
  const regions = [...new Set(options.regions)];
  if (regions.length === 0) problems.push('no Region: give --regions r1,r2 (every Region the account has enabled)');
  for (const region of regions) if (!REGION.test(region)) problems.push(`--regions: ${region} is not a Region name`);
  if (problems.length > 0) throw new OrgOptionError(problems.join('\n'));
  const common = {
    Stage: options.stage,
    HubAccountId: options.hubAccountId,
    HubRegion: options.homeRegion,
    OrgId: options.orgId ?? '',
  };
  const global: SpokeStack = {
    kind: 'global',
    region: GLOBAL_SPOKE_REGION,
    stackName: `roleguard-${options.stage}-spoke-global`,
    templateBody: spokeGlobalTemplateBody(),
    parameters: { ...common, AllowWrites: String(options.allowWrites) },
  };
  const regional = regions.map(
    (region): SpokeStack => ({
      kind: 'regional',
      region,
      stackName: `roleguard-${options.stage}-spoke-regional`,
      templateBody: spokeRegionalTemplateBody(),
      parameters: { ...common, RecordAwsServiceAssumes: String(options.recordAwsServiceAssumes) },
    }),
  );
  return [global, ...regional];
}
