import { GetRolePolicyCommand, type IAMClient, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { withIamRetry } from '../lib/revoke/apply.js';
import {
  fitToBudget,
  mergeRevocations,
  type PolicyDocument,
  parseRevocationPolicy,
  policySize,
  pruneRevocations,
  REVOCATION_POLICY_NAME,
  type RevocationState,
  renderRevocationPolicy,
} from '../lib/revoke/policy.js';

/** What a dry run of `roleguard revoke` would write, and whether it read the role's policies or assumed them. */
export interface RevocationPreview {
  policyDocument: PolicyDocument | null;
  fellBack: boolean;
  /** False: no AWS access, so the role was taken to hold no inline policy at all. */
  readFromIam: boolean;
}

const isMissing = (error: unknown) => /^NoSuchEntity/.test((error as { name?: string }).name ?? '');

// IAM returns policy documents URL-encoded.
const decode = (document: string): unknown =>
  JSON.parse(document.trim().startsWith('{') ? document : decodeURIComponent(document));

async function readPolicy(iam: IAMClient, roleName: string, policyName: string): Promise<unknown> {
  try {
    const out = await withIamRetry(() =>
      iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName })),
    );
    return out.PolicyDocument ? decode(out.PolicyDocument) : null;
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

/**
 * The revocation policy the addition would leave on the role, as the live path decides it (merge, prune, fit to the
 * inline budget), without a lock and without recording anything. With `iam`, the role's policies are read (only
 * read); without, the role is taken to have no inline policy, which the caller must say.
 */
export async function previewRevocation(
  iam: IAMClient | null,
  roleName: string,
  addition: RevocationState,
  now: Date,
): Promise<RevocationPreview> {
  let current: RevocationState = { role: null, sessions: [] };
  let foreign: unknown[] = [];
  let others = 0;
  if (iam) {
    const existing = await readPolicy(iam, roleName, REVOCATION_POLICY_NAME);
    if (existing !== null) {
      const parsed = parseRevocationPolicy(existing);
      current = parsed.state;
      foreign = parsed.foreignStatements;
    }
    const names =
      (await withIamRetry(() => iam.send(new ListRolePoliciesCommand({ RoleName: roleName })))).PolicyNames ?? [];
    for (const name of names)
      if (name !== REVOCATION_POLICY_NAME) others += policySize(await readPolicy(iam, roleName, name));
  }
  const merged = pruneRevocations(mergeRevocations(current, addition), now);
  const { state, fellBack } = fitToBudget(merged, others + (foreign.length ? policySize(foreign) : 0));
  const rendered = renderRevocationPolicy(state);
  const policyDocument =
    rendered || foreign.length
      ? {
          Version: '2012-10-17' as const,
          Statement: [...(rendered?.Statement ?? []), ...(foreign as PolicyDocument['Statement'])],
        }
      : null;
  return { policyDocument, fellBack, readFromIam: iam !== null };
}
