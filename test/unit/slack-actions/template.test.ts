import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { ROOT } from '../../helpers/fixtures.js';

// The Slack settings of serverless.yml, read as written (the packaged template is checked elsewhere).
const template = parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')) as {
  params: { default: Record<string, unknown> };
  provider: { environment: Record<string, unknown> };
  functions: Record<string, { reservedConcurrency?: unknown; environment?: Record<string, unknown> }>;
};

describe('the Slack settings of the stack', () => {
  it('turns Slack actions off by default and hands the param to every function as SLACK_ACTIONS', () => {
    expect(template.params.default.slackActions).toBe('false');
    expect(template.provider.environment.SLACK_ACTIONS).toBe('${param:slackActions}');
  });

  it('gives the worker the signing-secret parameter, to verify what it is handed', () => {
    expect(template.functions.slackActionWorker!.environment!.SLACK_SIGNING_SECRET_PARAMETER).toBe(
      '${param:slackSigningSecretParameter}',
    );
  });

  it('reserves (and so caps) the concurrency of the public route', () => {
    expect(template.functions.slackActions!.reservedConcurrency).toBe('${param:slackActionsReservedConcurrency}');
    const reserved = template.params.default.slackActionsReservedConcurrency;
    expect(Number.isInteger(reserved) && (reserved as number) >= 1 && (reserved as number) <= 10).toBe(true);
  });
});
