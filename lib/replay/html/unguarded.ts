import { parseRoleArn } from '../../cloudtrail/arn.js';
import { byText, empty, esc, plural, roleKey, shortRole, some, table, time } from './format.js';
import type { HtmlReportInput } from './types.js';

/** Roles assumed from another account that the registry does not guard: a vendor door nobody watches. */
export function unguarded(input: HtmlReportInput): string {
  const guarded = new Set(input.registry.roles.map((r) => roleKey(r.roleArn)));
  const roles = new Map<string, { arn: string; callers: Set<string>; n: number; first: string; last: string }>();
  for (const s of input.report.sessions) {
    const account = parseRoleArn(s.roleArn)?.accountId;
    if (s.outcome !== 'success' || !s.callerAccountId || !account || s.callerAccountId === account) continue;
    if (guarded.has(roleKey(s.roleArn))) continue;
    const seen = roles.get(roleKey(s.roleArn));
    if (!seen)
      roles.set(roleKey(s.roleArn), {
        arn: s.roleArn,
        callers: new Set([s.callerAccountId]),
        n: 1,
        first: s.issuedAt,
        last: s.issuedAt,
      });
    else {
      seen.callers.add(s.callerAccountId);
      seen.n++;
      if (Date.parse(s.issuedAt) < Date.parse(seen.first)) seen.first = s.issuedAt;
      if (Date.parse(s.issuedAt) > Date.parse(seen.last)) seen.last = s.issuedAt;
    }
  }
  if (roles.size === 0) return empty('Every role assumed from another account is guarded.');
  const rows = [...roles.values()]
    .sort((a, b) => b.n - a.n || byText(a.arn, b.arn))
    .map(
      (r) =>
        `<tr><td>${esc(shortRole(r.arn))}</td><td class="wrap">${esc(r.arn)}</td><td class="wrap">${esc(some([...r.callers].sort(byText)))}</td><td>${r.n}</td><td>${esc(time(r.first))}</td><td>${esc(time(r.last))}</td></tr>`,
    );
  return `<p class="warn">${plural(roles.size, 'role')} assumed from another account ${roles.size === 1 ? 'is' : 'are'} not in the registry: roleguard records them but detects nothing on them. Register each one that a vendor uses.</p>${table(['role', 'ARN', 'assumed by account', 'sessions', 'first', 'last'], rows)}`;
}
