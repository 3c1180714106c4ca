import { createRevokingDeps, revocationDeps } from '../lib/lambda-deps.js';
import { manualRevocationHandler } from '../lib/lambda-handler.js';

// No alert channels: the result goes back to the caller. A bad configuration fails the cold start.
const deps = createRevokingDeps();

/**
 * Manual revocation, invoked directly (console, `aws lambda invoke`, a runbook automation):
 *   { "roleArn": "arn:aws:iam::…:role/…", "accessKeyId": "ASIA…" | "session": "name or AROA…:name" | "all": true,
 *     "dryRun": false, "reason": "…", "requestId": "…" }
 * The same requestId is carried out once. Protected roles are refused with a clear error.
 */
export const handler = manualRevocationHandler(deps, revocationDeps(deps));
