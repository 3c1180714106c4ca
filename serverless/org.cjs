// Values serverless.yml takes from roleguard's TypeScript (lib/org/): the rules' event patterns and the spoke
// templates have one source, shared with the CLI (`roleguard org templates`) and the tests. The module is bundled
// in memory with esbuild (already a dependency of the build) each time osls resolves a variable.
'use strict';
const { buildSync } = require('esbuild');
const { join } = require('node:path');
const Module = require('node:module');

let cached = null;
function orgModule() {
  if (cached) return cached;
  const entry = join(__dirname, '..', 'lib', 'org', 'index.ts');
  const out = buildSync({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
  });
  const mod = new Module(entry);
  mod.filename = entry;
  mod.paths = Module._nodeModulePaths(join(__dirname, '..'));
  mod._compile(out.outputFiles[0].text, entry);
  cached = mod.exports;
  return cached;
}

const flag = (value) => String(value).trim() === 'true';

module.exports = {
  /** The STS assume rule's pattern, per the param recordAwsServiceAssumes. */
  stsAssumePattern: async ({ resolveVariable }) =>
    orgModule().stsAssumePattern(flag(await resolveVariable('param:recordAwsServiceAssumes'))),
  /** The IAM role-change rule's pattern. */
  iamRolePattern: async () => orgModule().iamRolePattern(),

  /** The global spoke template as a JSON string (the global StackSet's TemplateBody); parameters set by the StackSet. */
  spokeGlobalTemplateBody: async () => JSON.stringify(orgModule().spokeGlobalTemplate()),
  /** The regional spoke template as a JSON string (the regional StackSet's TemplateBody). */
  spokeRegionalTemplateBody: async () => JSON.stringify(orgModule().spokeRegionalTemplate()),

  // --- hub settings (owner: hub): checked here, so a bad value stops the package with its reason ---
  /** The organization's id (param orgId): empty (an organization of one) or o-… */
  orgId: async ({ resolveVariable }) => checkOrgId(await param(resolveVariable, 'orgId')),
  /** The hub's home Region (param homeRegion): the Region being deployed; any other is refused. */
  homeRegion: async ({ resolveVariable }) => {
    const home = await param(resolveVariable, 'homeRegion');
    const region = String(await resolveVariable('self:provider.region'));
    if (home && home !== region)
      throw new Error(
        `homeRegion ${JSON.stringify(home)} is not the Region being deployed (${region}): the hub lives in its home Region; deploy with --region ${home}`,
      );
    return region;
  },
  /** The Regions of the regional spoke StackSet (param spokeRegions, a comma list). */
  spokeRegions: async ({ resolveVariable }) => {
    const regions = list(await param(resolveVariable, 'spokeRegions'));
    const bad = regions.filter((r) => !/^[a-z]{2}(-[a-z]+)+-\d$/.test(r));
    if (regions.length === 0 || bad.length)
      throw new Error(`spokeRegions must be a comma list of Regions (eu-west-1,…), got ${JSON.stringify(bad)}`);
    return regions;
  },
  /**
   * The spoke StackSets' FailureToleranceCount (param spokeFailureToleranceCount): the accounts per Region whose stack
   * instance may fail before the operation stops there (and the hub's deploy fails with it). A whole number, 0-100.
   */
  spokeFailureToleranceCount: async ({ resolveVariable }) =>
    failureTolerance(await param(resolveVariable, 'spokeFailureToleranceCount')),
  /**
   * The spoke StackSets' MaxConcurrentCount: the tolerance plus one. AWS requires at least that many with a count, and
   * in its default (strict) mode caps the concurrency there; SOFT_FAILURE_TOLERANCE keeps it whatever fails.
   */
  spokeMaxConcurrentCount: async ({ resolveVariable }) =>
    failureTolerance(await param(resolveVariable, 'spokeFailureToleranceCount')) + 1,
  /**
   * The OUs the spoke StackSets deploy to (param spokeOrganizationalUnits, a comma list of r-… or ou-…). Required
   * with orgId: there is no safe default (the root would reach every account, which is the usual wish, but only the
   * deployer knows its id).
   */
  spokeOrganizationalUnits: async ({ resolveVariable }) => {
    const orgId = checkOrgId(await param(resolveVariable, 'orgId'));
    const units = list(await param(resolveVariable, 'spokeOrganizationalUnits'));
    if (!orgId) return units;
    if (units.length === 0)
      throw new Error(
        'with orgId, give the OUs the spokes deploy to: --param spokeOrganizationalUnits=r-xxxx (the root, for every account) or ou-xxxx-yyyyyyyy,…',
      );
    const bad = units.filter((u) => !/^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$/.test(u));
    if (bad.length) throw new Error(`spokeOrganizationalUnits: not a root (r-…) or OU (ou-…-…) id: ${bad.join(', ')}`);
    return units;
  },
};

/** A param's value as text; an unset or empty param is "". */
async function param(resolveVariable, name) {
  const value = await resolveVariable(`param:${name}, ''`);
  return value === null || value === undefined ? '' : String(value).trim();
}

function list(text) {
  return text
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
}

function failureTolerance(text) {
  if (!/^\d{1,3}$/.test(text) || Number(text) > 100)
    throw new Error(
      `spokeFailureToleranceCount must be a whole number of accounts per Region, 0 to 100, got ${JSON.stringify(text)}`,
    );
  return Number(text);
}

function checkOrgId(orgId) {
  if (orgId && !/^o-[a-z0-9]{10,32}$/.test(orgId))
    throw new Error(
      `orgId must be an organization id (o- and 10 to 32 lower-case letters or digits), got ${JSON.stringify(orgId)}`,
    );
  return orgId;
}
