import { ACCOUNT_ID } from '../cloudtrail/arn.js';
import { maskExternalId } from '../redact.js';

/** One statement of a trust policy, normalised for analysis. Nothing is dropped: `raw` is the statement as written. */
export interface TrustStatement {
  index: number;
  sid: string | null;
  effect: 'Allow' | 'Deny';
  /** True when the statement uses NotPrincipal (for Allow: everyone except the listed principals). */
  notPrincipal: boolean;
  /** `Principal: "*"` or `{ "AWS": "*" }`: any AWS principal at all. */
  anyPrincipal: boolean;
  /** AWS principals as written: account ids, root/role/user ARNs, unique ids of deleted principals. */
  awsPrincipals: string[];
  /** Principals that are not AWS accounts (Service, Federated, CanonicalUser). */
  otherPrincipals: string[];
  /** True when the statement's Action/NotAction covers sts:AssumeRole. */
  grantsAssumeRole: boolean;
  /** Condition operator → condition key (lower-cased) → values. */
  conditions: Record<string, Record<string, string[]>>;
  raw: Record<string, unknown>;
}

/** A trust policy that could not be read. */
export class TrustPolicyError extends Error {
  override name = 'TrustPolicyError';
}

/** Decode a trust policy as IAM returns it: URL-encoded JSON (GetRole, get-account-authorization-details), plain JSON, or an object. */
export function decodePolicyDocument(document: unknown): Record<string, unknown> {
  let value = document;
  if (typeof value === 'string') {
    let text = value.trim();
    if (!text.startsWith('{')) {
      try {
        text = decodeURIComponent(text);
      } catch {
        throw new TrustPolicyError('the policy document is neither JSON nor URL-encoded JSON');
      }
    }
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new TrustPolicyError(`the policy document is not valid JSON: ${(error as Error).message}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TrustPolicyError('the policy document is not a JSON object');
  return value as Record<string, unknown>;
}

const list = (value: unknown): unknown[] =>
  value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
const strings = (value: unknown): string[] => list(value).filter((v): v is string => typeof v === 'string');

/** IAM action matching: case-insensitive, `*` and `?` wildcards. */
export function actionMatches(pattern: string, action: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\/]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return regex.test(action);
}

/** Parse a trust policy's statements. Throws a TrustPolicyError when it is not a policy at all. */
export function parseTrustPolicy(document: unknown): TrustStatement[] {
  const policy = decodePolicyDocument(document);
  const statements = list(policy.Statement);
  if (statements.length === 0) throw new TrustPolicyError('the policy has no Statement');
  return statements.map((raw, index) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new TrustPolicyError(`Statement[${index}] is not an object`);
    const s = raw as Record<string, unknown>;
    const effect = s.Effect === 'Deny' ? 'Deny' : s.Effect === 'Allow' ? 'Allow' : null;
    if (!effect) throw new TrustPolicyError(`Statement[${index}] has no valid Effect`);
    const notPrincipal = s.NotPrincipal !== undefined;
    const principal = notPrincipal ? s.NotPrincipal : s.Principal;
    let anyPrincipal = principal === '*';
    const awsPrincipals: string[] = [];
    const otherPrincipals: string[] = [];
    if (typeof principal === 'object' && principal !== null) {
      for (const [type, values] of Object.entries(principal as Record<string, unknown>)) {
        for (const v of strings(values)) {
          if (type === 'AWS' && v === '*') anyPrincipal = true;
          else if (type === 'AWS') awsPrincipals.push(v);
          else otherPrincipals.push(`${type}:${v}`);
        }
      }
    }
    const assume = 'sts:AssumeRole';
    const grantsAssumeRole =
      s.NotAction !== undefined
        ? !strings(s.NotAction).some((p) => actionMatches(p, assume))
        : strings(s.Action).some((p) => actionMatches(p, assume));
    const conditions: TrustStatement['conditions'] = {};
    if (typeof s.Condition === 'object' && s.Condition !== null) {
      for (const [operator, block] of Object.entries(s.Condition as Record<string, unknown>)) {
        if (typeof block !== 'object' || block === null) continue;
        const keys: Record<string, string[]> = {};
        for (const [key, values] of Object.entries(block as Record<string, unknown>))
          keys[key.toLowerCase()] = list(values).map(String);
        conditions[operator] = keys;
      }
    }
    return {
      index,
      sid: typeof s.Sid === 'string' ? s.Sid : null,
      effect,
      notPrincipal,
      anyPrincipal,
      awsPrincipals,
      otherPrincipals,
      grantsAssumeRole,
      conditions,
      raw: s,
    };
  });
}

/** The account an AWS principal belongs to: a 12-digit id, or an IAM/STS ARN's account; null for unique ids (deleted principals). */
export function principalAccount(principal: string): string | null {
  if (ACCOUNT_ID.test(principal)) return principal;
  const m = /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(principal);
  return m ? m[1]! : null;
}

const EXTERNAL_ID_KEY = 'sts:externalid';

/** How a statement constrains sts:ExternalId. */
export interface ExternalIdRequirement {
  /** Values required by plain StringEquals (any of them is accepted); empty when there is no such condition. */
  required: string[];
  /** Conditions on sts:ExternalId that do not pin it to exact values (IfExists, StringLike, ignore-case, negations, Null, set operators). */
  weak: string[];
  /** The exact IDs a weak condition still accepts (StringEqualsIfExists, StringEqualsIgnoreCase, set operators, StringLike without wildcards). */
  weakValues: string[];
  /**
   * True when a weak condition still admits only the IDs in `weakValues`: ForAnyValue:StringEquals, or StringLike
   * without wildcards (a request without sts:ExternalId fails them, and no other value matches). Unidiomatic, not open.
   */
  weakPins: boolean;
}

const WILDCARD = /[*?]/;

/**
 * Read the sts:ExternalId conditions of one statement. Operators are compared case-insensitively, as the IAM evaluator
 * the tests check against does: a lower-case `stringequals` pins the ID no less than `StringEquals`.
 */
export function externalIdRequirement(statement: TrustStatement): ExternalIdRequirement {
  const required: string[] = [];
  const weak: string[] = [];
  const weakValues: string[] = [];
  let weakPins = false;
  for (const [operator, keys] of Object.entries(statement.conditions)) {
    const values = keys[EXTERNAL_ID_KEY];
    if (!values) continue;
    const op = operator.toLowerCase();
    if (op === 'stringequals') {
      required.push(...values);
      continue;
    }
    const set = /^(forallvalues|foranyvalue):/.exec(op)?.[1] ?? null;
    const ifExists = op.endsWith('ifexists');
    const base = op.replace(/^(forallvalues|foranyvalue):/, '').replace(/ifexists$/, '');
    // The values such a condition accepts as they are (negations, Null and wildcard patterns name no ID).
    const exact =
      base === 'stringequals' || base === 'stringequalsignorecase'
        ? values
        : base === 'stringlike'
          ? values.filter((v) => !WILDCARD.test(v))
          : [];
    weakValues.push(...exact);
    // sts:ExternalId is single-valued: ForAnyValue behaves like the plain operator, ForAllValues passes when the key is missing.
    if (
      !ifExists &&
      set !== 'forallvalues' &&
      (base === 'stringequals' || (base === 'stringlike' && exact.length === values.length))
    )
      weakPins = true;
    // Values are masked: this text ends up in alerts and audit output.
    weak.push(
      `${operator} ${values.map((v) => (WILDCARD.test(v) && base.startsWith('stringlike') ? `pattern ${maskExternalId(v)}` : maskExternalId(v))).join(', ')}`,
    );
  }
  return { required: [...new Set(required)], weak, weakValues: [...new Set(weakValues)], weakPins };
}
