import { maskExternalId } from '../redact.js';
import { EXTERNAL_ID } from '../registry/validate.js';
import {
  actionMatches,
  decodePolicyDocument,
  parseTrustPolicy,
  principalAccount,
  type TrustStatement,
} from '../trust/policy.js';

/** IAM's default quota for a role trust policy (whitespace not counted); an account can have it raised to 8,192. */
export const TRUST_POLICY_SIZE_LIMIT = 2048;

/** The trust policy cannot be edited without changing more than the vendor's accepted IDs; `reasons` says why. Nothing was decided. */
export class TrustEditRefused extends Error {
  override name = 'TrustEditRefused';
  constructor(
    readonly roleArn: string,
    readonly reasons: string[],
  ) {
    super(`the trust policy of ${roleArn} cannot be edited safely: ${reasons.join('; ')}`);
  }
}

/** A trust policy with the vendor statements' accepted IDs set. */
export interface TrustEditResult {
  /** Compact JSON to send to iam:UpdateAssumeRolePolicy. */
  document: string;
  /** False when the policy already accepted exactly what was asked (an idempotent step). */
  changed: boolean;
  /** Indexes of the vendor statements, each of which now accepts exactly the IDs asked for. */
  statements: number[];
  /** Characters, whitespace outside strings not counted, as IAM counts them against the quota. */
  size: number;
}

const KEY = 'sts:externalid';
const ASSUME = 'sts:AssumeRole';
const JSON_SPACE = new Set([' ', '\t', '\n', '\r']);
// The unique id (AIDA…, AROA…) IAM shows in place of a deleted principal: it can never match a caller again.
const UNIQUE_ID = /^A[A-Z0-9]{15,127}$/;

const list = (value: unknown): unknown[] =>
  value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
const mask = (value: unknown) => maskExternalId(String(value));
const masked = (values: unknown[]) => values.map(mask).join(', ');
const label = (s: TrustStatement) => `Statement[${s.index}]${s.sid ? ` ("${s.sid}")` : ''}`;

interface IdCondition {
  block: Record<string, unknown>;
  operator: string;
  key: string;
  values: string[];
}

/** Every condition of a statement on sts:ExternalId, operator and key spelled as written. */
function idConditions(s: TrustStatement): IdCondition[] {
  const found: IdCondition[] = [];
  const condition = s.raw.Condition;
  if (typeof condition !== 'object' || condition === null) return found;
  for (const [operator, block] of Object.entries(condition as Record<string, unknown>)) {
    if (typeof block !== 'object' || block === null || Array.isArray(block)) continue;
    for (const [key, value] of Object.entries(block as Record<string, unknown>)) {
      if (key.toLowerCase() === KEY)
        found.push({ block: block as Record<string, unknown>, operator, key, values: list(value).map(String) });
    }
  }
  return found;
}

// Operators are compared case-insensitively, as the IAM evaluator does; they are written back as spelled.
const isEquals = (c: IdCondition) => c.operator.toLowerCase() === 'stringequals';

/** Effect Allow, Principal (not NotPrincipal) naming a trusted account, Action (not NotAction) covering sts:AssumeRole. */
function isVendorStatement(s: TrustStatement, trusted: Set<string>): boolean {
  const actions = list(s.raw.Action).filter((a): a is string => typeof a === 'string');
  return (
    s.effect === 'Allow' &&
    !s.notPrincipal &&
    actions.some((a) => actionMatches(a, ASSUME)) &&
    s.awsPrincipals.some((p) => trusted.has(principalAccount(p) ?? ''))
  );
}

/** Whether a statement's principals can include a principal of a trusted account. */
const reachesTrusted = (s: TrustStatement, trusted: Set<string>) =>
  s.anyPrincipal || s.notPrincipal || s.awsPrincipals.some((p) => trusted.has(principalAccount(p) ?? ''));

function acceptedProblems(accepted: unknown): string[] {
  if (!Array.isArray(accepted) || accepted.length === 0)
    return ['no external ID to accept was given: a trust policy accepting none would lock the vendor out'];
  const problems: string[] = [];
  accepted.forEach((id, i) => {
    if (typeof id !== 'string' || !EXTERNAL_ID.test(id))
      problems.push(
        `the ID to accept ${mask(id)} is not a valid external ID (2–1224 characters of [A-Za-z0-9+=,.@:/_-])`,
      );
    else if (accepted.indexOf(id) < i)
      problems.push(`the external ID ${mask(id)} is listed twice in the IDs to accept`);
  });
  return problems;
}

function vendorProblems(s: TrustStatement, trusted: Set<string>, pinned: TrustStatement[]): string[] {
  const problems: string[] = [];
  const others = [
    ...(s.anyPrincipal ? ['every AWS principal ("*")'] : []),
    ...s.awsPrincipals.filter((p) => (principalAccount(p) ? !trusted.has(principalAccount(p)!) : !UNIQUE_ID.test(p))),
    ...s.otherPrincipals,
  ];
  if (others.length)
    problems.push(
      `${label(s)} also trusts ${others.join(', ')}, outside the vendor's accounts; editing its external ID would change what they may do`,
    );
  const conditions = idConditions(s);
  for (const c of conditions.filter((c) => !isEquals(c))) {
    problems.push(
      `${label(s)} checks sts:ExternalId with ${c.operator} (${c.operator.toLowerCase() === 'null' ? c.values.join(', ') : masked(c.values)}); roleguard rotates only an ID required by StringEquals alone, so fix the trust policy first`,
    );
  }
  if (conditions.length === 0) {
    // Beside a statement that requires the ID, this one is a way around it: no edit of the others makes a rotation effective.
    const bypass = pinned.length
      ? `, which ${pinned.map(label).join(' and ')} require${pinned.length > 1 ? '' : 's'}, so the rotation cannot be made effective`
      : '';
    problems.push(
      `${label(s)} lets the vendor assume the role without a StringEquals condition on sts:ExternalId${bypass}; adding one would change who may assume it, so the trust policy must require the current ID there first`,
    );
  }
  return problems;
}

/** Problems with a statement that is not the vendor's but reaches a trusted account: it would keep the old ID working or refuse the new one. */
function otherProblems(s: TrustStatement, trusted: Set<string>, accepted: string[]): string[] {
  if (!s.grantsAssumeRole || !reachesTrusted(s, trusted)) return [];
  const conditions = idConditions(s);
  if (s.effect === 'Allow') {
    // Conditions are ANDed: one StringEquals within the accepted IDs pins the statement to them.
    if (conditions.some((c) => isEquals(c) && c.values.every((v) => accepted.includes(v)))) return [];
    const pinned = conditions.find(isEquals);
    if (pinned)
      return [
        `${label(s)}, which is not a vendor statement roleguard edits, also lets the vendor's account assume the role with ${masked(pinned.values.filter((v) => !accepted.includes(v)))}; the rotation cannot be made effective until it is removed or matches the vendor statements`,
      ];
    return [
      `${label(s)} also lets the vendor's account assume the role without requiring the external ID with StringEquals; the rotation cannot be made effective until it is removed or requires the ID`,
    ];
  }
  // roleguard does not edit Deny statements: one that would refuse an accepted ID must be fixed by hand.
  return conditions.flatMap((c) => {
    const op = c.operator.toLowerCase();
    const refused =
      op === 'stringnotequals'
        ? accepted.filter((id) => !c.values.includes(id))
        : op === 'stringequals'
          ? accepted.filter((id) => c.values.includes(id))
          : null;
    if (op === 'null' || refused?.length === 0) return [];
    return [
      `${label(s)} denies the vendor's account by sts:ExternalId (${c.operator})${refused ? ` and would refuse ${masked(refused)}` : '; roleguard cannot tell whether it refuses the IDs to accept'}, and roleguard does not edit Deny statements`,
    ];
  });
}

/** Set the values of each StringEquals sts:ExternalId in a vendor statement; true when one changed. */
function applyIds(s: TrustStatement, accepted: string[]): boolean {
  let changed = false;
  for (const c of idConditions(s).filter(isEquals)) {
    const current = new Set(c.values);
    if (current.size === accepted.length && accepted.every((id) => current.has(id))) continue;
    const next = [...[...current].filter((v) => accepted.includes(v)), ...accepted.filter((id) => !current.has(id))];
    c.block[c.key] = next.length === 1 ? next[0] : next;
    changed = true;
  }
  return changed;
}

/**
 * Make the vendor statements accept exactly the IDs of `accepted` (order preserved: existing values first, then new ones).
 * `document` is what GetRole returns (URL-encoded JSON), plain JSON text, or an object (never modified).
 * Throws a TrustEditRefused listing every reason when that cannot be done without changing anything else.
 */
export function setAcceptedExternalIds(
  document: unknown,
  role: { roleArn: string; trustedAccounts: string[] },
  accepted: string[],
  options: { maxSize?: number } = {},
): TrustEditResult {
  const reasons = acceptedProblems(accepted);
  let policy: Record<string, unknown>;
  let statements: TrustStatement[];
  try {
    policy = JSON.parse(JSON.stringify(decodePolicyDocument(document))) as Record<string, unknown>;
    statements = parseTrustPolicy(policy);
  } catch (error) {
    throw new TrustEditRefused(role.roleArn, [
      ...reasons,
      `the trust policy cannot be read: ${(error as Error).message}`,
    ]);
  }
  const trusted = new Set(role.trustedAccounts);
  const vendor = statements.filter((s) => isVendorStatement(s, trusted));
  if (vendor.length === 0)
    reasons.push(
      `no Allow statement lets the vendor's account (${[...trusted].join(', ')}) assume the role with sts:AssumeRole`,
    );
  const pinned = vendor.filter((s) => idConditions(s).some(isEquals));
  for (const s of vendor) reasons.push(...vendorProblems(s, trusted, pinned));
  for (const s of statements)
    if (!vendor.includes(s)) reasons.push(...otherProblems(s, trusted, Array.isArray(accepted) ? accepted : []));
  if (reasons.length) throw new TrustEditRefused(role.roleArn, reasons);
  const changed = vendor.map((s) => applyIds(s, accepted)).some(Boolean);
  const text = JSON.stringify(policy);
  const size = trustPolicySize(text);
  const maxSize = options.maxSize ?? TRUST_POLICY_SIZE_LIMIT;
  if (size > maxSize)
    throw new TrustEditRefused(role.roleArn, [
      `the edited trust policy would be ${size} characters, over the quota of ${maxSize} (whitespace not counted)`,
    ]);
  return { document: text, changed, statements: vendor.map((s) => s.index), size };
}

/** A trust policy's length as IAM counts it against the quota: characters, whitespace outside strings not counted. */
export function trustPolicySize(document: unknown): number {
  const policy = decodePolicyDocument(document);
  let text = typeof document === 'string' ? document.trim() : JSON.stringify(policy);
  if (!text.startsWith('{')) text = decodeURIComponent(text);
  let size = 0;
  let inString = false;
  let escaped = false;
  for (const ch of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
    } else if (JSON_SPACE.has(ch)) continue;
    else if (ch === '"') inString = true;
    size++;
  }
  return size;
}

/**
 * The external IDs the role's vendor statements accept (the values of their StringEquals sts:ExternalId), in order,
 * each once. Empty when the policy cannot be read: the edit itself then refuses it with the reason.
 */
export function vendorExternalIds(document: unknown, role: { trustedAccounts: string[] }): string[] {
  let statements: TrustStatement[];
  try {
    statements = parseTrustPolicy(decodePolicyDocument(document));
  } catch {
    return [];
  }
  const trusted = new Set(role.trustedAccounts);
  const ids = statements
    .filter((s) => isVendorStatement(s, trusted))
    .flatMap((s) => idConditions(s).filter(isEquals))
    .flatMap((c) => c.values);
  return [...new Set(ids)];
}
