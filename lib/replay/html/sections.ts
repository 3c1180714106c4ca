import { maskExternalId } from '../../redact.js';
import type { RegisteredRole } from '../../registry/types.js';
import { IN_FLIGHT, nextRotationDue, type Rotation } from '../../rotate/index.js';
import type { ReplayReport } from '../report.js';
import { empty, esc, isRevocation, MAX_REVOCATION_ROWS, plural, roleKey, shortRole, table, time } from './format.js';
import type { HtmlReportInput } from './types.js';

const statements = (doc: unknown) =>
  Array.isArray((doc as { Statement?: unknown } | null)?.Statement)
    ? (doc as { Statement: unknown[] }).Statement.length
    : 0;

/**
 * The revocations, one row each (the first few hundred), then per role the whole inline policy after its last one:
 * the policy is what a reader came for, and each revocation's policy only adds a statement to the one before.
 */
export function revocations(report: ReplayReport, anchorOf: (eventId: string) => string | null): string {
  const revs = report.actions.filter(isRevocation);
  if (revs.length === 0) return empty('No revocation would have happened.');
  const rows = revs.slice(0, MAX_REVOCATION_ROWS).map((a, i) => {
    const anchor = anchorOf(a.eventId);
    const cause = anchor
      ? `<a href="#${anchor}">${esc(report.findings.find((f) => f.eventId === a.eventId)?.kind)}</a>`
      : '–';
    return `<tr id="revocation-${i + 1}"><td>${esc(time(a.at))}</td><td><b>${esc(a.kind)}</b></td><td>${esc(shortRole(a.roleArn))}</td><td>${cause}</td><td class="${a.applied ? 'applied' : 'dry'}">${a.applied ? 'written to IAM' : 'not written (dry run)'}</td></tr>`;
  });
  const more =
    revs.length > MAX_REVOCATION_ROWS
      ? `<p class="muted">… and ${revs.length - MAX_REVOCATION_ROWS} more (all are in --json).</p>`
      : '';
  const last = new Map(revs.map((a) => [roleKey(a.roleArn), a]));
  const policies = [...last.values()]
    .map(
      (a, i) =>
        `<details${i < 3 ? ' open' : ''}><summary>The inline policy ${esc(a.policyName ?? 'roleguard-revocations')} of <b>${esc(shortRole(a.roleArn))}</b> after its last revocation (${esc(time(a.at))}, ${plural(statements(a.policyDocument), 'statement')})</summary><pre>${esc(JSON.stringify(a.policyDocument ?? null, null, 2))}</pre></details>`,
    )
    .join('');
  const list = `${table(['when', 'revocation', 'role', 'after', 'IAM'], rows)}${more}`;
  // A long list is folded: a link to one of its rows still opens it.
  const folded =
    revs.length > 10 ? `<details><summary>all ${revs.length} revocations, one by one</summary>${list}</details>` : list;
  return `<h3>The policy each role is left with</h3>${policies}<h3>One by one</h3>${folded}`;
}

/** When a role's next rotation is due, or why there is no date, as HTML (escaped here). */
function due(role: RegisteredRole, r: Rotation | null, now: string): string {
  if (!role.rotation) return 'no schedule';
  if (!r) return 'not yet dated';
  if (IN_FLIGHT.includes(r.phase)) return `in flight (deadline ${esc(time(r.deadlineAt))})`;
  const at = nextRotationDue(role, r);
  return at ? `${esc(time(at))}${at < now ? ' · <span class="late">overdue</span>' : ''}` : '–';
}

/** The rotation schedule of each role, and the rotations in flight. */
export function rotationsTable(input: HtmlReportInput): string {
  const byRole = new Map(input.rotations.map((r) => [r.roleArn, r]));
  const rows = input.registry.roles
    .filter((role) => role.rotation || byRole.has(role.roleArn))
    .map((role) => {
      const r = byRole.get(role.roleArn) ?? null;
      const state = !r
        ? 'no rotation recorded yet (the first scheduled run dates it)'
        : `${r.phase} since ${time(r.startedAt && IN_FLIGHT.includes(r.phase) ? r.startedAt : r.since)}`;
      return `<tr><td>${esc(role.vendor)}</td><td>${esc(shortRole(role.roleArn))}</td><td>${role.rotation ? `every ${role.rotation.everyDays} days, ${role.rotation.graceDays} days' grace` : 'by hand'}</td><td class="wrap">${esc(state)}</td><td>${due(role, r, input.generatedAt)}</td></tr>`;
    });
  const schedule = rows.length
    ? table(['vendor', 'role', 'schedule', 'state', 'next due'], rows)
    : empty('No role has a rotation schedule.');
  const flying = input.rotations
    .filter((r) => IN_FLIGHT.includes(r.phase))
    .map((r) => {
      const late = r.deadlineAt && r.deadlineAt < input.generatedAt ? ' · <span class="late">passed</span>' : '';
      return `<tr><td>${esc(shortRole(r.roleArn))}</td><td><b>${esc(r.phase)}</b></td><td>${esc(time(r.startedAt))}</td><td>${esc(maskExternalId(r.previousId) ?? '–')} → ${esc(maskExternalId(r.pendingId) ?? '–')}</td><td>${esc(time(r.deadlineAt))}${late}</td></tr>`;
    });
  const inFlight = flying.length
    ? table(['role', 'phase', 'started', 'external ID (old → new)', 'vendor must switch by'], flying)
    : empty('No rotation in flight.');
  return `<h3>Schedule</h3>${schedule}<h3>In flight</h3>${inFlight}`;
}

/** The inputs that could not be read, the first 500. */
export function rejectedTable(report: ReplayReport): string {
  if (report.rejected.length === 0) return empty('Nothing was rejected.');
  const rows = report.rejected
    .slice(0, 500)
    .map((r) => `<tr><td class="wrap">${esc(r.source)}</td><td class="wrap">${esc(r.reason)}</td></tr>`);
  const more = report.rejected.length > 500 ? `<p>… and ${report.rejected.length - 500} more (see --json).</p>` : '';
  return `${table(['source', 'reason'], rows)}${more}`;
}
