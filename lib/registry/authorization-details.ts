import { z } from 'zod';
import { parseRoleArn } from '../cloudtrail/arn.js';
import { maskExternalId } from '../redact.js';
import { analyzeTrustPolicy, type PostureProblem } from '../trust/analyze.js';
import { ownRoleMatches } from './match.js';
import { orgInternalReason } from './org-internal.js';
import type { RegisteredRole, Registry } from './types.js';
import { EXTERNAL_ID, RegistryError } from './validate.js';

// The parts of `aws iam get-account-authorization-details` output the import reads; everything else is ignored.
const RoleDetail = z.object({
  RoleName: z.string(),
  Arn: z.string(),
  Path: z.string().optional(),
  // URL-encoded JSON from the API; the AWS CLI prints it decoded, as an object.
  AssumeRolePolicyDocument: z.union([z.string(), z.record(z.string(), z.unknown())]),
  Tags: z.array(z.object({ Key: z.string(), Value: z.string() })).optional(),
});
const Details = z.object({ RoleDetailList: z.array(z.unknown()) });

/** What the import made of one role it did not register as is. */
export interface ImportNote {
  roleArn: string;
  /** registered: with caveats; watch: registered in watch mode (`externalIds: none`); skipped: not registered. */
  outcome: 'registered' | 'watch' | 'skipped';
  message: string;
  problems: PostureProblem[];
}

/** The registry derived from IAM's export, and what could not be expressed in it. */
export interface AuthorizationDetailsImport {
  registry: Registry;
  notes: ImportNote[];
  /** Roles that grant nothing to other accounts (service roles, SAML/OIDC roles, same-account roles): not vendor roles. */
  notCrossAccount: number;
  /** Importing an organization's accounts: roles it uses between its own accounts, skipped (not vendor roles). */
  orgInternal?: number;
}

/**
 * Derive the registry from `aws iam get-account-authorization-details` JSON. For each role, every Allow statement
 * for sts:AssumeRole is read: the other accounts it names become `trustedAccounts`, and the StringEquals values of
 * `sts:ExternalId` become the accepted IDs. A role that requires no external ID at all is registered in watch mode
 * (`externalIds: none`); one that requires an ID of some accounts only is registered with the IDs and reported.
 * `existing` keeps what IAM does not know (vendor names, response, rotation, retired IDs, service and protected ARNs).
 */
export function registryFromAuthorizationDetails(
  document: unknown,
  source: string,
  existing: Registry | null = null,
  options: { ownRoleArns?: string[]; orgAccounts?: string[] } = {},
): AuthorizationDetailsImport {
  const top = Details.safeParse(document);
  if (!top.success)
    throw new RegistryError(source, ['not get-account-authorization-details output: RoleDetailList is missing']);
  // Matched by account and role name, as detection matches roles: role names are unique per account whatever the path.
  const nameKey = (arn: string) => {
    const parts = parseRoleArn(arn);
    return parts ? `${parts.accountId}/${parts.roleName}` : arn;
  };
  const known = new Map((existing?.roles ?? []).map((r) => [nameKey(r.roleArn), r]));
  const roles: RegisteredRole[] = [];
  const notes: ImportNote[] = [];
  const problems: string[] = [];
  let notCrossAccount = 0;
  let orgInternal = 0;
  top.data.RoleDetailList.forEach((raw, index) => {
    const parsed = RoleDetail.safeParse(raw);
    if (!parsed.success) {
      problems.push(
        `RoleDetailList[${index}]: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(role)'}: ${i.message}`).join('; ')}`,
      );
      return;
    }
    const detail = parsed.data;
    const parts = parseRoleArn(detail.Arn);
    if (!parts) {
      problems.push(`RoleDetailList[${index}] (${detail.RoleName}): Arn: not a valid IAM role ARN`);
      return;
    }
    if (parts.path.startsWith('/aws-service-role/') || parts.path.startsWith('/aws-reserved/')) {
      notCrossAccount++;
      return;
    }
    // roleguard's own roles (the spoke role trusts the hub account) are never registered as vendor roles.
    if (options.ownRoleArns?.some((p) => ownRoleMatches(p, detail.Arn))) {
      notes.push({
        roleArn: detail.Arn,
        outcome: 'skipped',
        message: "it is one of roleguard's own roles",
        problems: [],
      });
      return;
    }
    const analysis = analyzeTrustPolicy(detail.AssumeRolePolicyDocument, detail.Arn);
    if (!analysis.crossAccount) {
      if (analysis.problems.some((p) => p.kind === 'unreadable-policy'))
        notes.push({
          roleArn: detail.Arn,
          outcome: 'skipped',
          message: 'its trust policy could not be read',
          problems: analysis.problems,
        });
      else notCrossAccount++;
      return;
    }
    // Importing an organization's accounts: the roles it uses between its own accounts are not vendor roles.
    const internal = options.orgAccounts
      ? orgInternalReason(detail.RoleName, analysis.trustedAccounts, options.orgAccounts)
      : null;
    if (internal) {
      notes.push({ roleArn: detail.Arn, outcome: 'skipped', message: internal, problems: [] });
      orgInternal++;
      return;
    }
    const caveats: string[] = [];
    let ids = analysis.acceptedExternalIds.filter((id) => EXTERNAL_ID.test(id));
    // Only a weak condition names the ID: register it so the role is watched (an assume without it is then a
    // missing-external-id finding), and say the condition must be fixed.
    if (ids.length === 0 && analysis.weaklyNamedExternalIds.some((id) => EXTERNAL_ID.test(id))) {
      ids = analysis.weaklyNamedExternalIds.filter((id) => EXTERNAL_ID.test(id));
      caveats.push(
        'its only external-ID check is a weak condition (see the problems below); the ID it names was registered, and the condition must become StringEquals',
      );
    }
    if (ids.length < analysis.acceptedExternalIds.length)
      caveats.push('some sts:ExternalId values are not valid external IDs and were left out');
    const previous = known.get(nameKey(detail.Arn)) ?? null;
    const vendorTag = detail.Tags?.find((t) => /^vendor$/i.test(t.Key))?.Value.trim();
    const vendor = previous?.vendor ?? (vendorTag || detail.RoleName);
    // No external ID anywhere: the most dangerous kind of role. Registered in watch mode, so every assume from
    // another account is a finding, alerted (never revoked: that would revoke every vendor session).
    if (ids.length === 0 && analysis.acceptedExternalIds.length === 0 && analysis.trustedAccounts.length > 0) {
      const dropped = [
        ...(previous?.response === 'revoke' ? ['response revoke became alert'] : []),
        ...(previous?.rotation ? ['its rotation schedule was dropped'] : []),
      ];
      roles.push({
        roleArn: detail.Arn,
        vendor,
        trustedAccounts: analysis.trustedAccounts,
        externalIds: { current: null, pending: null, retired: [] },
        response: 'alert',
        ...(previous?.dryRun !== undefined ? { dryRun: previous.dryRun } : {}),
        ...(previous?.approvers ? { approvers: previous.approvers } : {}),
        rotation: null,
        noExternalId: true,
      });
      notes.push({
        roleArn: detail.Arn,
        outcome: 'watch',
        message: `it trusts ${analysis.trustedAccounts.join(', ')} without requiring an external ID: registered in watch mode (externalIds: none), so every assume from another account is a missing-external-id finding${dropped.length ? ` (${dropped.join('; ')})` : ''}; add a StringEquals sts:ExternalId condition, then register the ID`,
        problems: analysis.problems,
      });
      return;
    }
    if (ids.length === 0 || analysis.trustedAccounts.length === 0) {
      notes.push({
        roleArn: detail.Arn,
        outcome: 'skipped',
        message:
          analysis.trustedAccounts.length === 0
            ? 'it lets any AWS account assume it rather than named accounts: fix the trust policy, then register it by hand'
            : `it trusts ${analysis.trustedAccounts.join(', ')} without requiring an external ID: not registered, because the registry needs the ID the vendor uses; add a StringEquals sts:ExternalId condition or register it by hand`,
        problems: analysis.problems,
      });
      return;
    }
    const prior = previous
      ? [previous.externalIds.current, previous.externalIds.pending].filter((x): x is string => x !== null)
      : [];
    // An ID the registry retired stays retired while the policy still accepts it (the audit reports that), unless
    // the policy accepts nothing else.
    const stillRetired = ids.filter((id) => previous?.externalIds.retired.includes(id));
    if (stillRetired.length > 0 && stillRetired.length < ids.length) {
      ids = ids.filter((id) => !stillRetired.includes(id));
      caveats.push(
        `the trust policy still accepts retired ${stillRetired.length === 1 ? 'ID' : 'IDs'} ${stillRetired.map((id) => maskExternalId(id)).join(', ')}, kept as retired: remove ${stillRetired.length === 1 ? 'it' : 'them'} from the policy`,
      );
    }
    // Keep the registry's view of which accepted ID is current (and pending) when it still matches; otherwise policy order decides.
    const current = prior.find((id) => ids.includes(id)) ?? ids[0]!;
    const others = ids.filter((id) => id !== current);
    const pending = others.find((id) => id === previous?.externalIds.pending) ?? others[0] ?? null;
    const rest = others.filter((id) => id !== pending);
    if (others.length > 0)
      caveats.push(
        `it accepts ${ids.length} external IDs; ${maskExternalId(current)} was registered as current and ${maskExternalId(pending)} as pending${rest.length > 0 ? `; ${rest.length} more (${rest.map((id) => maskExternalId(id)).join(', ')}) cannot be expressed` : ''}`,
      );
    const retired = (previous?.externalIds.retired ?? []).filter((id) => id !== current && id !== pending);
    if (analysis.problems.length)
      caveats.push(
        `the trust policy has ${analysis.problems.length} posture ${analysis.problems.length === 1 ? 'problem' : 'problems'} (see roleguard audit)`,
      );
    roles.push({
      roleArn: detail.Arn,
      vendor,
      trustedAccounts: analysis.trustedAccounts,
      externalIds: { current, pending, retired },
      response: previous?.response ?? 'alert',
      ...(previous?.dryRun !== undefined ? { dryRun: previous.dryRun } : {}),
      ...(previous?.approvers ? { approvers: previous.approvers } : {}),
      rotation: previous?.rotation ?? null,
    });
    if (caveats.length)
      notes.push({
        roleArn: detail.Arn,
        outcome: 'registered',
        message: caveats.join('; '),
        problems: analysis.problems,
      });
  });
  if (problems.length) throw new RegistryError(source, problems);
  return {
    registry: {
      serviceRoleArns: existing?.serviceRoleArns ?? [],
      protectedRoleArns: existing?.protectedRoleArns ?? [],
      roles,
      ...(existing?.approvers ? { approvers: existing.approvers } : {}),
    },
    notes,
    notCrossAccount,
    ...(options.orgAccounts ? { orgInternal } : {}),
  };
}
