import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Deps } from './deps.js';
import { type ManualRevocation, type ManualTarget, RevocationRefused, revokeByHand } from './revoke/manual.js';
import type { RevocationDeps } from './revoke/service.js';

/** A scheduled handler: runs the job once per invocation, logs its result, and fails loudly so Lambda retries. */
export function scheduledHandler<T>(deps: Deps, name: string, job: (now: Date) => Promise<T>) {
  return middy(async () => {
    const result = await job(new Date());
    deps.logger.info(`${name} done`, { result: result as Record<string, unknown> });
    return result;
  })
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .onError(async (request) => {
      deps.logger.error(`${name} failed; Lambda will retry it`, { error: request.error as Error });
    });
}

/** The payload of a manual revocation (functions/revoke.ts). */
export interface ManualRevocationEvent {
  roleArn?: unknown;
  session?: unknown;
  accessKeyId?: unknown;
  all?: unknown;
  dryRun?: unknown;
  reason?: unknown;
  requestId?: unknown;
  requestedBy?: unknown;
}

/** Read a manual revocation request; every problem is named. */
export function parseManualRevocation(event: ManualRevocationEvent | null | undefined): ManualRevocation {
  const problems: string[] = [];
  const e = (typeof event === 'object' && event !== null ? event : {}) as ManualRevocationEvent;
  const text = (name: keyof ManualRevocationEvent): string | undefined => {
    const value = e[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value.length === 0 || value.length > 2048)
      problems.push(`${name} must be a non-empty string`);
    return typeof value === 'string' ? value : undefined;
  };
  const roleArn = text('roleArn');
  if (!roleArn) problems.push('roleArn is required');
  const session = text('session');
  const accessKeyId = text('accessKeyId');
  if (e.all !== undefined && typeof e.all !== 'boolean') problems.push('all must be true or false');
  if (e.dryRun !== undefined && typeof e.dryRun !== 'boolean') problems.push('dryRun must be true or false');
  const targets = [session, accessKeyId, e.all === true ? true : undefined].filter((x) => x !== undefined);
  if (targets.length !== 1) problems.push('give exactly one of session, accessKeyId or all: true');
  if (problems.length) throw new RevocationRefused(`bad revocation request: ${problems.join('; ')}`);
  const target: ManualTarget =
    e.all === true
      ? { all: true }
      : accessKeyId
        ? { accessKeyId }
        : session!.includes(':')
          ? { assumedRoleId: session! }
          : { sessionName: session! };
  const requestId = text('requestId');
  return {
    roleArn: roleArn!,
    target,
    dryRun: e.dryRun === true,
    reason: text('reason') ?? null,
    requestedBy: text('requestedBy') ?? null,
    ...(requestId ? { requestId } : {}),
  };
}

/**
 * The handler of manual revocations. The global DRY_RUN applies as in the automatic path. A refused request
 * (a protected role, bad input, nothing to revoke) fails the invocation with the reason, and writes nothing.
 */
export function manualRevocationHandler(deps: Deps, revoking: RevocationDeps) {
  return middy(async (event: ManualRevocationEvent) => {
    const request = parseManualRevocation(event);
    const index = await deps.registry();
    // The global DRY_RUN and the role's own dryRun apply to manual revocations too.
    const dryRun = request.dryRun || deps.config.dryRun || index.roleFor(request.roleArn)?.dryRun === true;
    const result = await revokeByHand(
      { ...revoking, sessions: deps.sessions },
      { ...index.registry, ownRoleArns: deps.config.ownRoleArns },
      { ...request, dryRun },
      new Date(),
    );
    const { intent, ...outcome } = result;
    deps.logger.info('manual revocation', {
      roleArn: outcome.roleArn,
      revoked: outcome.revoked,
      intentId: outcome.intentId,
      applied: outcome.applied,
      dryRun: intent.dryRun,
      pending: outcome.pendingError ?? null,
      requestedBy: request.requestedBy,
      reason: request.reason,
    });
    return {
      ...outcome,
      dryRun: intent.dryRun,
      sessions: outcome.sessions.map((s) => ({
        eventId: s.eventId,
        accessKeyId: s.accessKeyId,
        issuedAt: s.issuedAt,
        expiresAt: s.expiresAt,
      })),
    };
  })
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .onError(async (request) => {
      const error = request.error as Error;
      if (error instanceof RevocationRefused) deps.logger.error('revocation refused', { reason: error.message });
      else deps.logger.error('manual revocation failed', { error });
    });
}
