import type { RevocationOutcome } from './revoke/respond.js';

/** What was done about the session, in words. `notWritten` says why nothing was written, if it was not. */
export function revocationText(outcome: RevocationOutcome, notWritten: 'global' | 'role' | 'replay' | null): string {
  const what = outcome.fellBack
    ? `the whole role (every session issued before ${outcome.decidedAt}, the vendor's too), because targeted revocations no longer fit the role's 10,240-character inline policy budget`
    : outcome.issuedWindow
      ? `this session (its tokens issued from ${outcome.issuedWindow.from} to ${outcome.issuedWindow.until}, its own issue time give or take 5 seconds; the vendor's other sessions of the same name are not affected)`
      : `this session (its tokens issued before ${outcome.decidedAt}; a new session of the same name is not affected)`;
  let done: string;
  if (outcome.refused)
    return `Not revoked: ${outcome.refused}. Revocation would not stop a new assume anyway: rotate or remove the external ID to contain it.`;
  if (outcome.expiredAt)
    return `Not revoked: the session had already expired (by ${outcome.expiredAt}), so there was nothing left to deny. Revocation would not stop a new assume anyway: rotate or remove the external ID to contain it.`;
  if (outcome.pendingError)
    done = `Revocation of ${what} is recorded but not applied yet: IAM failed (${outcome.pendingError}). The sweep retries it every 5 minutes.`;
  else if (notWritten === 'global')
    done = `Dry run (roleguard's global dry run is on): would revoke ${what} with the ${outcome.policyName} policy below; nothing was written to IAM.`;
  else if (notWritten === 'role')
    done = `Dry run (this role's dryRun is set): would revoke ${what} with the ${outcome.policyName} policy below; nothing was written to IAM.`;
  else if (notWritten === 'replay')
    done = `Would revoke ${what} with the ${outcome.policyName} policy below (replay: nothing was written).`;
  else done = `Revoked ${what} with the ${outcome.policyName} policy below (IAM applies it within seconds to minutes).`;
  return `${done} Revocation does not stop a new assume: rotate or remove the external ID to contain it.`;
}
