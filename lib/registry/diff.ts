import { parseRoleArn } from '../cloudtrail/arn.js';
import type { RegisteredRole, Registry } from './types.js';
import { roleToDocument } from './validate.js';

/** What changes when `next` replaces `stored`: roles matched by account and role name, as detection matches them. */
export interface RegistryDiff {
  added: RegisteredRole[];
  removed: RegisteredRole[];
  /** Roles in both whose entry differs, with the top-level fields that differ (never their values: IDs stay out). */
  changed: { role: RegisteredRole; fields: string[] }[];
  /** serviceRoleArns, protectedRoleArns and/or the global approvers differ. */
  settings: string[];
  unchanged: number;
}

/** The key roles are matched by: role names are unique per account whatever the path. */
export function roleKey(roleArn: string): string {
  const parts = parseRoleArn(roleArn);
  return parts ? `${parts.accountId}/${parts.roleName}` : roleArn;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Compare two registries. */
export function diffRegistries(stored: Registry, next: Registry): RegistryDiff {
  const before = new Map(stored.roles.map((r) => [roleKey(r.roleArn), r]));
  const after = new Map(next.roles.map((r) => [roleKey(r.roleArn), r]));
  const diff: RegistryDiff = { added: [], removed: [], changed: [], settings: [], unchanged: 0 };
  for (const [key, role] of after) {
    const old = before.get(key);
    if (!old) {
      diff.added.push(role);
      continue;
    }
    const a = roleToDocument(old);
    const b = roleToDocument(role);
    const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((f) => !same(a[f], b[f]));
    if (fields.length) diff.changed.push({ role, fields });
    else diff.unchanged++;
  }
  for (const [key, role] of before) if (!after.has(key)) diff.removed.push(role);
  for (const field of ['serviceRoleArns', 'protectedRoleArns', 'approvers'] as const)
    if (!same([...(stored[field] ?? [])].sort(), [...(next[field] ?? [])].sort())) diff.settings.push(field);
  return diff;
}

/** The diff as lines for a person: `+` added, `-` removed, `~` changed (field names only). */
export function formatRegistryDiff(diff: RegistryDiff): string[] {
  const name = (r: RegisteredRole) => `${r.roleArn} (${r.vendor}${r.noExternalId ? ', watch mode' : ''})`;
  const lines = [
    ...diff.added.map((r) => `  + ${name(r)}`),
    ...diff.removed.map((r) => `  - ${name(r)}`),
    ...diff.changed.map((c) => `  ~ ${name(c.role)}: ${c.fields.join(', ')}`),
    ...diff.settings.map((s) => `  ~ ${s}`),
  ];
  const counts = `${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed, ${diff.unchanged} unchanged`;
  return [lines.length ? `registry changes (${counts}):` : `no change to the registry (${counts})`, ...lines];
}

/** The diff as JSON: ARNs and field names, never an external ID. */
export function registryDiffJson(diff: RegistryDiff): Record<string, unknown> {
  return {
    added: diff.added.map((r) => r.roleArn),
    removed: diff.removed.map((r) => r.roleArn),
    changed: diff.changed.map((c) => ({ roleArn: c.role.roleArn, fields: c.fields })),
    settings: diff.settings,
    unchanged: diff.unchanged,
  };
}
