import { parseRoleArn } from '../cloudtrail/arn.js';
import { maskExternalId } from '../redact.js';
import type { RegisteredRole } from '../registry/types.js';
import { externalIdRequirement, parseTrustPolicy, principalAccount, TrustPolicyError, type TrustStatement } from './policy.js';

/** Kinds of posture problem the audit reports. */
export type PostureProblemKind =
  | 'no-external-id'
  | 'weak-external-id-condition'
  | 'condition-bypass'
  | 'any-principal'
  | 'unresolved-principal'
  | 'external-ids-differ'
  | 'trusted-accounts-differ'
  | 'unreadable-policy';

/** One thing wrong with a role's trust policy. Never holds a full external ID. */
export interface PostureProblem {
  kind: PostureProblemKind;
  severity: 'critical' | 'high' | 'medium';
  /** The statement it is about (index and Sid), when there is one. */
  statement: string | null;
  message: string;
}

/** What a trust policy grants to other accounts, and what is wrong with it. */
export interface TrustAnalysis {
  /** Accounts other than the role's own that an Allow statement lets assume the role (by account, role or user ARN). */
  trustedAccounts: string[];
  /** External IDs accepted by StringEquals on the cross-account statements, in policy order. */
  acceptedExternalIds: string[];
  /** IDs named only by weak conditions (StringEqualsIfExists, StringEqualsIgnoreCase): what the vendor likely uses. */
  weaklyNamedExternalIds: string[];
  /** True when at least one statement grants sts:AssumeRole to another account (or to anyone). */
  crossAccount: boolean;
  problems: PostureProblem[];
}

const describe = (s: TrustStatement) => `Statement[${s.index}]${s.sid ? ` (${s.sid})` : ''}`;
const masked = (ids: string[]) => ids.map((id) => maskExternalId(id)).join(', ');

/**
 * Read a trust policy the way IAM evaluates it: every Allow statement for sts:AssumeRole counts, so one statement
 * without the external-ID condition opens the door whatever the others require. Same-account principals need no
 * external ID. When the registry entry is given, also compare the accepted IDs and accounts with it.
 */
export function analyzeTrustPolicy(document: unknown, roleArn: string, registered: RegisteredRole | null = null): TrustAnalysis {
  const roleAccount = parseRoleArn(roleArn)?.accountId ?? null;
  let statements: TrustStatement[];
  try {
    statements = parseTrustPolicy(document);
  } catch (error) {
    if (!(error instanceof TrustPolicyError)) throw error;
    return { trustedAccounts: [], acceptedExternalIds: [], weaklyNamedExternalIds: [], crossAccount: false, problems: [{ kind: 'unreadable-policy', severity: 'high', statement: null, message: error.message }] };
  }
  const problems: PostureProblem[] = [];
  const trusted = new Set<string>();
  const accepted: string[] = [];
  const grants = statements.filter((s) => s.effect === 'Allow' && s.grantsAssumeRole);
  // Statements that let someone outside the role's account in, with the external-ID requirement of each.
  const crossGrants: { statement: TrustStatement; accounts: string[]; open: boolean; requirement: ReturnType<typeof externalIdRequirement> }[] = [];
  for (const s of grants) {
    const accounts: string[] = [];
    for (const p of s.awsPrincipals) {
      const account = principalAccount(p);
      if (account === null) {
        problems.push({ kind: 'unresolved-principal', severity: 'medium', statement: describe(s), message: `${describe(s)} names a principal that is not an account or ARN (${p}); IAM writes a unique id when the principal was deleted` });
      } else if (account !== roleAccount) accounts.push(account);
    }
    const open = s.anyPrincipal || s.notPrincipal;
    if (!open && accounts.length === 0) continue;
    crossGrants.push({ statement: s, accounts: [...new Set(accounts)], open, requirement: externalIdRequirement(s) });
  }
  // A Deny for sts:AssumeRole with only `StringNotEquals sts:ExternalId` also pins the ID (a missing ID makes the
  // negated condition true, so the Deny applies): the Allows it covers are as safe as a StringEquals.
  const guards = statements
    .filter((s) => s.effect === 'Deny' && s.grantsAssumeRole && !s.notPrincipal)
    .map((s) => {
      const operators = Object.entries(s.conditions);
      const keys = operators.length === 1 && operators[0]![0] === 'StringNotEquals' ? Object.entries(operators[0]![1]) : [];
      if (keys.length !== 1 || keys[0]![0] !== 'sts:externalid') return null;
      return { any: s.anyPrincipal, accounts: new Set(s.awsPrincipals.map(principalAccount)), ids: keys[0]![1] };
    })
    .filter((g) => g !== null);
  for (const g of crossGrants) {
    if (g.requirement.required.length > 0) continue;
    const guard = guards.find((d) => d.any || (!g.open && g.accounts.every((a) => d.accounts.has(a))));
    if (guard) g.requirement = { required: [...guard.ids], weak: [], weakValues: [] };
  }
  const anyRequires = crossGrants.some((g) => g.requirement.required.length > 0);
  for (const g of crossGrants) {
    const where = describe(g.statement);
    const who = g.open ? (g.statement.notPrincipal ? 'every principal outside its NotPrincipal' : 'any AWS account') : `account ${g.accounts.join(', ')}`;
    for (const a of g.accounts) trusted.add(a);
    if (g.requirement.required.length > 0) {
      for (const id of g.requirement.required) if (!accepted.includes(id)) accepted.push(id);
      if (g.open) problems.push({ kind: 'any-principal', severity: 'high', statement: where, message: `${where} lets ${who} assume the role; the external ID is the only check, and external IDs are not secret` });
      continue;
    }
    if (g.requirement.weak.length > 0) {
      problems.push({ kind: 'weak-external-id-condition', severity: 'high', statement: where, message: `${where} checks sts:ExternalId with ${g.requirement.weak.join(' and ')} instead of StringEquals, which does not pin the ID (IfExists passes when no ID is sent; StringLike takes wildcards)` });
    } else if (g.open || anyRequires) {
      problems.push({ kind: 'condition-bypass', severity: 'critical', statement: where, message: `${where} lets ${who} assume the role without an external ID, bypassing the condition${anyRequires ? ' that other statements require' : ''}` });
    } else {
      problems.push({ kind: 'no-external-id', severity: 'critical', statement: where, message: `${where} lets ${who} assume the role without requiring an external ID (no StringEquals on sts:ExternalId): the confused-deputy door is open` });
    }
  }
  const weaklyNamed = [...new Set(crossGrants.filter((g) => g.requirement.required.length === 0).flatMap((g) => g.requirement.weakValues))].filter((id) => !accepted.includes(id));
  const analysis: TrustAnalysis = { trustedAccounts: [...trusted].sort(), acceptedExternalIds: accepted, weaklyNamedExternalIds: weaklyNamed, crossAccount: crossGrants.length > 0, problems };
  if (registered) problems.push(...compareWithRegistry(analysis, registered));
  return analysis;
}

function compareWithRegistry(analysis: TrustAnalysis, role: RegisteredRole): PostureProblem[] {
  const problems: PostureProblem[] = [];
  const expected = [role.externalIds.current, role.externalIds.pending].filter((id): id is string => id !== null);
  // An ID named by a weak condition is still accepted (the weakness is its own problem), so the vendor is not refused.
  const missing = expected.filter((id) => !analysis.acceptedExternalIds.includes(id) && !analysis.weaklyNamedExternalIds.includes(id));
  const extra = analysis.acceptedExternalIds.filter((id) => !expected.includes(id));
  const retired = extra.filter((id) => role.externalIds.retired.includes(id));
  if (missing.length || extra.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`the registered ${missing.length === 1 ? 'ID' : 'IDs'} ${masked(missing)} ${missing.length === 1 ? 'is' : 'are'} not accepted, so the vendor would be refused`);
    if (retired.length) parts.push(`retired ${retired.length === 1 ? 'ID' : 'IDs'} ${masked(retired)} ${retired.length === 1 ? 'is' : 'are'} still accepted`);
    const unknown = extra.filter((id) => !retired.includes(id));
    if (unknown.length) parts.push(`${unknown.length === 1 ? 'ID' : 'IDs'} ${masked(unknown)} not in the registry ${unknown.length === 1 ? 'is' : 'are'} accepted`);
    problems.push({ kind: 'external-ids-differ', severity: 'high', statement: null, message: `the trust policy's external IDs differ from the registry: ${parts.join('; ')}` });
  }
  const notTrusted = analysis.trustedAccounts.filter((a) => !role.trustedAccounts.includes(a));
  const notGranted = role.trustedAccounts.filter((a) => !analysis.trustedAccounts.includes(a));
  if (notTrusted.length || notGranted.length) {
    const parts: string[] = [];
    if (notTrusted.length) parts.push(`it lets in ${notTrusted.join(', ')}, which the registry does not trust`);
    if (notGranted.length) parts.push(`it does not let in ${notGranted.join(', ')}, which the registry trusts`);
    problems.push({ kind: 'trusted-accounts-differ', severity: notTrusted.length ? 'high' : 'medium', statement: null, message: `the trust policy's accounts differ from the registry: ${parts.join('; ')}` });
  }
  return problems;
}
