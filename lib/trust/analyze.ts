import { ACCOUNT_ID, parseRoleArn } from '../cloudtrail/arn.js';
import { maskExternalId } from '../redact.js';
import type { RegisteredRole } from '../registry/types.js';
import {
  type ExternalIdRequirement,
  externalIdRequirement,
  parseTrustPolicy,
  principalAccount,
  TrustPolicyError,
  type TrustStatement,
} from './policy.js';

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
export function analyzeTrustPolicy(
  document: unknown,
  roleArn: string,
  registered: RegisteredRole | null = null,
): TrustAnalysis {
  const roleAccount = parseRoleArn(roleArn)?.accountId ?? null;
  let statements: TrustStatement[];
  try {
    statements = parseTrustPolicy(document);
  } catch (error) {
    if (!(error instanceof TrustPolicyError)) throw error;
    return {
      trustedAccounts: [],
      acceptedExternalIds: [],
      weaklyNamedExternalIds: [],
      crossAccount: false,
      problems: [{ kind: 'unreadable-policy', severity: 'high', statement: null, message: error.message }],
    };
  }
  const problems: PostureProblem[] = [];
  const trusted = new Set<string>();
  const accepted: string[] = [];
  const grants = statements.filter((s) => s.effect === 'Allow' && s.grantsAssumeRole);
  // Statements that let someone outside the role's account in, with the external-ID requirement of each.
  const crossGrants: {
    statement: TrustStatement;
    principals: string[];
    accounts: string[];
    open: boolean;
    requirement: ExternalIdRequirement;
  }[] = [];
  // A Deny for sts:AssumeRole without a condition shuts its principals out; one with only `StringNotEquals
  // sts:ExternalId` pins the ID (a missing ID makes the negated condition true, so the Deny applies): the Allows it
  // covers are as safe as a StringEquals. A Deny covers a principal it names, or every principal of an account it names.
  const denies = statements
    .filter((s) => s.effect === 'Deny' && s.grantsAssumeRole && !s.notPrincipal)
    .map((s) => {
      const operators = Object.entries(s.conditions);
      const covers = (principal: string | null) =>
        s.anyPrincipal ||
        (principal !== null &&
          s.awsPrincipals.some(
            (d) => d === principal || (isAccountPrincipal(d) && principalAccount(d) === principalAccount(principal)),
          ));
      const condition = s.raw.Condition;
      if (
        condition === undefined ||
        (typeof condition === 'object' && condition !== null && Object.keys(condition).length === 0)
      )
        return { covers, ids: null };
      const keys =
        operators.length === 1 && operators[0]![0].toLowerCase() === 'stringnotequals'
          ? Object.entries(operators[0]![1])
          : [];
      if (keys.length !== 1 || keys[0]![0] !== 'sts:externalid') return null;
      return { covers, ids: keys[0]![1] };
    })
    .filter((d) => d !== null);
  const blocks = denies.filter((d) => d.ids === null);
  for (const s of grants) {
    const principals: string[] = [];
    const accounts: string[] = [];
    // NotPrincipal names the principals left out, not the ones let in.
    for (const p of s.notPrincipal ? [] : s.awsPrincipals) {
      const account = principalAccount(p);
      if (account === null) {
        problems.push({
          kind: 'unresolved-principal',
          severity: 'medium',
          statement: describe(s),
          message: `${describe(s)} names a principal that is not an account or ARN (${p}); IAM writes a unique id when the principal was deleted`,
        });
      } else if (account !== roleAccount && !blocks.some((d) => d.covers(p))) {
        principals.push(p);
        accounts.push(account);
      }
    }
    const open = (s.anyPrincipal || s.notPrincipal) && !blocks.some((d) => d.covers(null));
    if (!open && accounts.length === 0) continue;
    crossGrants.push({
      statement: s,
      principals,
      accounts: [...new Set(accounts)],
      open,
      requirement: externalIdRequirement(s),
    });
  }
  for (const g of crossGrants) {
    if (g.requirement.required.length > 0) continue;
    const guard = denies.find(
      (d) => d.ids !== null && (g.open ? d.covers(null) : g.principals.every((p) => d.covers(p))),
    );
    if (guard) g.requirement = { required: [...guard.ids!], weak: [], weakValues: [], weakPins: false };
  }
  const pins = (g: (typeof crossGrants)[number]) => g.requirement.required.length > 0 || g.requirement.weakPins;
  // A statement bypasses another's condition when it lets in, without the ID, someone the other admits only with it.
  const bypasses = (g: (typeof crossGrants)[number]) =>
    crossGrants
      .filter((o) => o !== g && pins(o))
      .some((o) => g.open || o.open || o.accounts.some((a) => g.accounts.includes(a)));
  for (const g of crossGrants) {
    const where = describe(g.statement);
    const who = g.open
      ? g.statement.notPrincipal
        ? 'every principal outside its NotPrincipal'
        : 'any AWS account'
      : `account ${g.accounts.join(', ')}`;
    for (const a of g.accounts) trusted.add(a);
    const anyPrincipal: PostureProblem = {
      kind: 'any-principal',
      severity: 'high',
      statement: where,
      message: `${where} lets ${who} assume the role; the external ID is the only check, and external IDs are not secret`,
    };
    if (g.requirement.required.length > 0) {
      for (const id of g.requirement.required) if (!accepted.includes(id)) accepted.push(id);
      if (g.open) problems.push(anyPrincipal);
      continue;
    }
    if (g.requirement.weak.length > 0) {
      const conditions = g.requirement.weak.join(' and ');
      if (g.requirement.weakPins) {
        problems.push({
          kind: 'weak-external-id-condition',
          severity: 'medium',
          statement: where,
          message: `${where} checks sts:ExternalId with ${conditions} instead of StringEquals; it still admits only the IDs it names, but write it as StringEquals (set operators and StringLike are easily loosened)`,
        });
        if (g.open) problems.push(anyPrincipal);
      } else {
        problems.push({
          kind: 'weak-external-id-condition',
          severity: g.open ? 'critical' : 'high',
          statement: where,
          message: `${where} lets ${who} in with ${conditions} on sts:ExternalId instead of StringEquals, which does not pin the ID (IfExists passes when no ID is sent; StringLike takes wildcards)`,
        });
      }
    } else if (g.open || bypasses(g)) {
      problems.push({
        kind: 'condition-bypass',
        severity: 'critical',
        statement: where,
        message: `${where} lets ${who} assume the role without an external ID${bypasses(g) ? ', bypassing the condition that other statements require' : ''}`,
      });
    } else {
      problems.push({
        kind: 'no-external-id',
        severity: 'critical',
        statement: where,
        message: `${where} lets ${who} assume the role without requiring an external ID (no StringEquals on sts:ExternalId): the confused-deputy door is open`,
      });
    }
  }
  const weaklyNamed = [
    ...new Set(crossGrants.filter((g) => g.requirement.required.length === 0).flatMap((g) => g.requirement.weakValues)),
  ].filter((id) => !accepted.includes(id));
  const analysis: TrustAnalysis = {
    trustedAccounts: [...trusted].sort(),
    acceptedExternalIds: accepted,
    weaklyNamedExternalIds: weaklyNamed,
    crossAccount: crossGrants.length > 0,
    problems,
  };
  // An account is also let in by an open statement: `*`, or a NotPrincipal that does not name the account itself.
  const openLetsIn = (account: string) =>
    crossGrants.some(
      (g) =>
        g.open &&
        (!g.statement.notPrincipal ||
          !g.statement.awsPrincipals.some((p) => isAccountPrincipal(p) && principalAccount(p) === account)),
    );
  if (registered) problems.push(...compareWithRegistry(analysis, registered, openLetsIn));
  return analysis;
}

/** True when a principal stands for a whole account (a 12-digit id or the account's root ARN). */
function isAccountPrincipal(principal: string): boolean {
  return ACCOUNT_ID.test(principal) || /^arn:aws[a-z-]*:iam::\d{12}:root$/.test(principal);
}

function compareWithRegistry(
  analysis: TrustAnalysis,
  role: RegisteredRole,
  openLetsIn: (account: string) => boolean,
): PostureProblem[] {
  const problems: PostureProblem[] = [];
  const expected = [role.externalIds.current, role.externalIds.pending].filter((id): id is string => id !== null);
  // An ID named by a weak condition is still accepted (the weakness is its own problem), so the vendor is not refused.
  const missing = expected.filter(
    (id) => !analysis.acceptedExternalIds.includes(id) && !analysis.weaklyNamedExternalIds.includes(id),
  );
  const extra = analysis.acceptedExternalIds.filter((id) => !expected.includes(id));
  const retired = extra.filter((id) => role.externalIds.retired.includes(id));
  if (missing.length || extra.length) {
    const parts: string[] = [];
    if (missing.length)
      parts.push(
        `the registered ${missing.length === 1 ? 'ID' : 'IDs'} ${masked(missing)} ${missing.length === 1 ? 'is' : 'are'} not accepted, so the vendor would be refused`,
      );
    if (retired.length)
      parts.push(
        `retired ${retired.length === 1 ? 'ID' : 'IDs'} ${masked(retired)} ${retired.length === 1 ? 'is' : 'are'} still accepted`,
      );
    const unknown = extra.filter((id) => !retired.includes(id));
    if (unknown.length)
      parts.push(
        `${unknown.length === 1 ? 'ID' : 'IDs'} ${masked(unknown)} not in the registry ${unknown.length === 1 ? 'is' : 'are'} accepted`,
      );
    problems.push({
      kind: 'external-ids-differ',
      severity: 'high',
      statement: null,
      message: `the trust policy's external IDs differ from the registry: ${parts.join('; ')}`,
    });
  }
  const notTrusted = analysis.trustedAccounts.filter((a) => !role.trustedAccounts.includes(a));
  const notGranted = role.trustedAccounts.filter((a) => !analysis.trustedAccounts.includes(a) && !openLetsIn(a));
  if (notTrusted.length || notGranted.length) {
    const parts: string[] = [];
    if (notTrusted.length) parts.push(`it lets in ${notTrusted.join(', ')}, which the registry does not trust`);
    if (notGranted.length) parts.push(`it does not let in ${notGranted.join(', ')}, which the registry trusts`);
    problems.push({
      kind: 'trusted-accounts-differ',
      severity: notTrusted.length ? 'high' : 'medium',
      statement: null,
      message: `the trust policy's accounts differ from the registry: ${parts.join('; ')}`,
    });
  }
  return problems;
}
