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
};
