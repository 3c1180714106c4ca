// A local osls plugin: when the stage names a registry file (param registryFile), validate it before anything is
// packaged, so an invalid registry stops the deploy with the CLI's message (file, role, field), and import it into
// the stack's registry table once the deploy has succeeded. Both steps run the roleguard CLI, so the deploy and
// `roleguard roles import` validate exactly the same way.
'use strict';
const { spawnSync } = require('node:child_process');
const { join, resolve } = require('node:path');

class RoleguardRegistryPlugin {
  constructor(serverless, options) {
    this.serverless = serverless;
    this.options = options;
    this.hooks = {
      'before:package:initialize': () => this.validate(),
      'after:deploy:deploy': () => this.importRegistry(),
    };
  }

  file() {
    const value = this.serverless.service.custom?.roleguard?.registryFile;
    return typeof value === 'string' && value.trim() ? resolve(this.serverless.serviceDir, value.trim()) : null;
  }

  run(args) {
    const bin = join(this.serverless.serviceDir, 'bin', 'roleguard.js');
    return spawnSync(process.execPath, [bin, ...args], { cwd: this.serverless.serviceDir, encoding: 'utf8' });
  }

  validate() {
    const file = this.file();
    if (!file) return;
    const result = this.run(['roles', 'import', '--registry', file, '--dry-run']);
    if (result.status !== 0)
      throw new this.serverless.classes.Error(
        `roleguard: the registry is invalid; nothing was deployed.\n${(result.stderr || result.error?.message || '').trim()}`,
      );
    this.serverless.cli.log(`roleguard: ${result.stdout.trim()}`);
  }

  importRegistry() {
    const file = this.file();
    if (!file) return;
    const stage = this.serverless.service.provider.stage;
    const region = this.serverless.service.provider.region;
    const args = ['roles', 'import', '--registry', file, '--stage', stage, '--region', region];
    if (this.options['aws-profile'] || this.serverless.service.provider.profile)
      args.push('--profile', this.options['aws-profile'] || this.serverless.service.provider.profile);
    const result = this.run(args);
    if (result.status !== 0)
      throw new this.serverless.classes.Error(
        `roleguard: the stack deployed, but the registry import failed; run \`roleguard roles import --registry ${file} --stage ${stage} --region ${region}\`.\n${(result.stderr || '').trim()}`,
      );
    this.serverless.cli.log(`roleguard: ${result.stdout.trim()}`);
  }
}

module.exports = RoleguardRegistryPlugin;
