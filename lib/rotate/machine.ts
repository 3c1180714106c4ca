import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { maskExternalId } from '../redact.js';
import type { RegisteredRole } from '../registry/types.js';
import type { HeldLock } from '../revoke/lock.js';
import { decodePolicyDocument } from '../trust/policy.js';
import { generateExternalId } from './external-id.js';
import { describeOldIdCallers, finishableAt, oldIdCallersSince, quietHoursOf, RETIRE_GRACE_MS } from './quiet.js';
import {
  IN_FLIGHT,
  idleRotation,
  type Rotation,
  RotationConflict,
  type RotationStore,
  type TrustWrite,
} from './store.js';
import { setAcceptedExternalIds, TrustEditRefused, vendorExternalIds } from './trust-edit.js';
import { policyHash } from './writes.js';

/** Grace period when a role's registry entry names none (a rotation started by hand on a role without a schedule). */
export const DEFAULT_GRACE_DAYS = 7;
const DAY_MS = 86_400_000;

/** Reads and writes role trust policies (IAM in the functions and the CLI, an emulation in tests). */
export interface TrustPolicyIo {
  /** The role's trust policy as GetRole returns it (URL-encoded JSON) or as JSON; by ARN, so its account is known. */
  read(roleArn: string): Promise<string>;
  write(roleArn: string, document: string): Promise<void>;
}

/** Something the security channels should know about a rotation. IDs in it are masked. */
export interface RotationNotice {
  severity: 'high' | 'medium' | 'low';
  roleArn: string;
  vendor: string;
  title: string;
  message: string;
}

/** Where rotations are announced. */
export interface RotationNotifier {
  /**
   * Give the new ID to the vendor's contact: the one place the full ID travels. Throws when no channel took it.
   * Absent where there is no vendor channel (the CLI): the deployed rotate function then does it on its next run.
   */
  vendor?(role: RegisteredRole, rotation: Rotation): Promise<void>;
  /** Tell the security channels (Slack and SNS alerts), IDs masked. */
  alert(notice: RotationNotice): Promise<void>;
}

/** What a rotation needs. */
export interface RotationDeps {
  store: RotationStore;
  trust: TrustPolicyIo;
  notifier: RotationNotifier;
  /** The per-role lock around each trust-policy read-modify-write. */
  lock(roleArn: string): Promise<HeldLock>;
  logger: Logger;
  /** Length of generated IDs (2–1224). */
  idLength: number;
  /** The account's trust-policy size quota (2,048 by default; up to 8,192 when raised). */
  maxTrustPolicySize: number;
  /** Global dry run: plan and report, write nothing (no trust policy, no rotation state, no vendor notice). */
  dryRun: boolean;
  /** Why a role must never be changed (service-linked, IAM Identity Center, roleguard's own, protected); null when it may be. */
  refuse(roleArn: string): string | null;
  /** Revoke sessions still alive that were issued with the old ID (roles with `rotation.revokeOldSessions`). */
  revokeOldSessions?(role: RegisteredRole, rotation: Rotation, now: Date): Promise<string>;
  random?: (max: number) => number;
}

/** A rotation step that cannot be taken, with the reason; nothing was written. */
export class RotationRefused extends Error {
  override name = 'RotationRefused';
}

/** Refused because another rotation of the role is in flight (perhaps started at the same moment). */
export class RotationInFlight extends RotationRefused {
  override name = 'RotationInFlight';
}

/**
 * Refused because the vendor statements accept IDs other than the rotation's previous and pending ones (one added by
 * hand for a vendor's DR site, say): the edit would drop them. `ids` are masked. Nothing was written.
 */
export class UnexpectedExternalIds extends RotationRefused {
  override name = 'UnexpectedExternalIds';
  constructor(
    message: string,
    readonly ids: string[],
  ) {
    super(message);
  }
}

/** Refused because the old ID has not gone unused for the quiet period since the confirmation (use --force). */
export class RotationNotQuiet extends RotationRefused {
  override name = 'RotationNotQuiet';
}

/** What one call did. */
export interface RotationResult {
  roleArn: string;
  /** The phase after the call (in a dry run: unchanged). */
  phase: Rotation['phase'];
  /** Steps taken, in order. */
  done: string[];
  /** Why it stopped short of finishing: waiting for the vendor, overdue, or an error kept for the next run. */
  waiting: string | null;
  /** A dry run's plan: the trust policy each step would write. */
  plan: { step: string; document: string | null }[];
  rotation: Rotation | null;
}

const at = (now: Date) => now.toISOString();
const dryRunOf = (deps: RotationDeps, role: RegisteredRole) => deps.dryRun || role.dryRun === true;

function note(r: Omit<Rotation, 'version'>, now: Date, step: string, detail: string): Omit<Rotation, 'version'> {
  return { ...r, history: [...r.history, { at: at(now), step, detail }] };
}

/** When the role's next rotation is due by its schedule; null without a schedule or while one is in flight. */
export function nextRotationDue(role: RegisteredRole, rotation: Rotation | null): string | null {
  if (!role.rotation || (rotation && IN_FLIGHT.includes(rotation.phase))) return null;
  if (!rotation) return null;
  return new Date(Date.parse(rotation.since) + role.rotation.everyDays * DAY_MS).toISOString();
}

/** Run `work` under the role's rotation lock; a dry run (which writes nothing, not even the lock) runs without it. */
async function withLock<T>(deps: RotationDeps, roleArn: string, work: () => Promise<T>, dryRun = false): Promise<T> {
  if (dryRun) return work();
  const lock = await deps.lock(roleArn);
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

function edit(deps: RotationDeps, role: RegisteredRole, document: string, accepted: string[]) {
  try {
    return setAcceptedExternalIds(document, role, accepted, { maxSize: deps.maxTrustPolicySize });
  } catch (error) {
    if (error instanceof TrustEditRefused)
      throw new RotationRefused(
        `the trust policy of ${role.roleArn} cannot be edited safely: ${error.reasons.join('; ')}`,
      );
    throw error;
  }
}

/** Refuse a step whose edit would drop IDs the vendor statements accept beside the rotation's two. */
function refuseOtherIds(role: RegisteredRole, document: string, rotation: Rotation, step: string): void {
  const known = [rotation.previousId, rotation.pendingId];
  const others = vendorExternalIds(document, role).filter((id) => !known.includes(id));
  if (others.length === 0) return;
  const ids = others.map((id) => maskExternalId(id)!);
  throw new UnexpectedExternalIds(
    `the trust policy of ${role.roleArn} also accepts ${ids.join(', ')} for the vendor, beside the previous ID ${maskExternalId(rotation.previousId)} and the new ID ${maskExternalId(rotation.pendingId)} (added by hand, for a DR site perhaps); a ${step} would drop ${others.length > 1 ? 'them' : 'it'}, so nothing was written. Once whoever uses ${others.length > 1 ? 'them' : 'it'} has the new ID, remove ${others.length > 1 ? 'them' : 'it'} from the trust policy by hand, then run the ${step} again`,
    ids,
  );
}

/**
 * Record the policy about to be written (so its CloudTrail event is known as roleguard's own), write it, and return
 * the rotation with the write noted. The record comes first: the event can never arrive before it.
 */
async function writeTrust(
  deps: RotationDeps,
  rotation: Rotation,
  document: string | null,
  step: TrustWrite['step'],
  now: Date,
  closing: Rotation['closing'] = rotation.closing,
): Promise<Rotation> {
  const writes =
    document === null ? rotation.writes : [...rotation.writes, { hash: policyHash(document), at: at(now), step }];
  const noted = await deps.store.update(rotation, { ...rotation, writes, closing });
  if (document !== null) await deps.trust.write(rotation.roleArn, document);
  return noted;
}

/** Apply `change` to the rotation as it is now, retrying when another writer got there first. */
async function updateLatest(
  deps: RotationDeps,
  roleArn: string,
  change: (r: Rotation) => Omit<Rotation, 'version'> | null,
): Promise<Rotation | null> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const latest = await deps.store.get(roleArn);
    if (!latest) return null;
    const next = change(latest);
    if (!next) return latest;
    try {
      return await deps.store.update(latest, next);
    } catch (error) {
      if (!(error instanceof RotationConflict)) throw error;
    }
  }
  throw new RotationConflict(`the rotation of ${roleArn} kept changing`);
}

/** Record a failure on the rotation as it is now (kept for the next run and shown by `roleguard rotations`). */
async function noteError(deps: RotationDeps, roleArn: string, message: string): Promise<void> {
  await updateLatest(deps, roleArn, (r) => ({ ...r, lastError: message })).catch(() => undefined);
}

/** Alert once per key (a reason), then again at most weekly while it stays true. */
async function alertOnce(
  deps: RotationDeps,
  roleArn: string,
  key: string,
  notice: RotationNotice,
  now: Date,
): Promise<void> {
  const latest = await deps.store.get(roleArn);
  if (!latest || (latest.lastAlert?.key === key && now.getTime() - Date.parse(latest.lastAlert.at) < 7 * DAY_MS))
    return;
  await deps.notifier.alert(notice);
  await updateLatest(deps, roleArn, (r) => ({ ...r, lastAlert: { key, at: at(now) } }));
}

/**
 * Step 1, create: generate the new ID and store it as pending, with a conditional write, after checking that the
 * trust policy accepts exactly the current ID and can take the new one. At most one rotation per role is in flight:
 * a second trigger is refused. Then the next steps run (set, notify) as far as they can.
 */
export async function startRotation(
  deps: RotationDeps,
  role: RegisteredRole,
  request: { trigger: 'schedule' | 'manual'; requestedBy?: string | null; now: Date },
): Promise<RotationResult> {
  const { now } = request;
  const refused = deps.refuse(role.roleArn);
  if (refused) throw new RotationRefused(`roleguard does not rotate ${role.roleArn}: ${refused}`);
  if (role.noExternalId)
    throw new RotationRefused(
      `${role.roleArn} is registered in watch mode (externalIds: none): its trust policy requires no external ID, so there is none to rotate; add a StringEquals sts:ExternalId condition and register the ID first`,
    );
  const current = role.externalIds.current;
  if (current === null)
    throw new RotationRefused(
      `${role.roleArn} has no current external ID in the registry; register the ID the vendor uses first`,
    );
  const started = await withLock(deps, role.roleArn, async (): Promise<RotationResult | null> => {
    const existing = await deps.store.get(role.roleArn);
    if (existing && IN_FLIGHT.includes(existing.phase)) {
      throw new RotationInFlight(
        `a rotation of ${role.roleArn} is already in flight (${existing.phase}, started ${existing.startedAt}); at most one runs per role`,
      );
    }
    if (role.externalIds.pending !== null) {
      throw new RotationRefused(
        `${role.roleArn} already has a pending external ID ${maskExternalId(role.externalIds.pending)} in the registry: make it current or remove it there first`,
      );
    }
    const document = await deps.trust.read(role.roleArn);
    // The policy must accept exactly the registered current ID: otherwise the registry and IAM disagree, and a
    // rotation would carry the disagreement forward.
    if (edit(deps, role, document, [current]).changed) {
      throw new RotationRefused(
        `the trust policy of ${role.roleArn} does not accept exactly the registered current ID ${maskExternalId(current)}; run roleguard audit and fix the policy or the registry first`,
      );
    }
    let pendingId = generateExternalId(deps.idLength, deps.random);
    while (
      pendingId === current ||
      role.externalIds.retired.includes(pendingId) ||
      (existing !== null && pendingId in existing.retiredAt)
    )
      pendingId = generateExternalId(deps.idLength, deps.random);
    const planned = edit(deps, role, document, [current, pendingId]);
    if (dryRunOf(deps, role)) {
      return {
        roleArn: role.roleArn,
        phase: existing?.phase ?? 'idle',
        done: [],
        waiting: 'dry run: nothing was written',
        plan: [
          { step: 'create', document: null },
          { step: 'set', document: planned.document },
        ],
        rotation: existing,
      };
    }
    const graceDays = role.rotation?.graceDays ?? DEFAULT_GRACE_DAYS;
    const base = existing ?? idleRotation(role.roleArn, at(now));
    const next: Omit<Rotation, 'version'> = note(
      {
        ...base,
        phase: 'created',
        rotationId: randomUUID(),
        previousId: current,
        pendingId,
        trigger: request.trigger,
        requestedBy: request.requestedBy ?? null,
        startedAt: at(now),
        deadlineAt: new Date(now.getTime() + graceDays * DAY_MS).toISOString(),
        previousPolicy: JSON.stringify(decodePolicyDocument(document)),
        setAt: null,
        notifiedAt: null,
        confirmedAt: null,
        confirmation: null,
        finishedAt: null,
        forced: false,
        rolledBackAt: null,
        lastError: null,
        oldIdUse: null,
      },
      now,
      'create',
      `${request.trigger === 'manual' ? `started by ${request.requestedBy ?? 'hand'}` : 'due by the schedule'}: new ID ${maskExternalId(pendingId)} pending, ${graceDays} days for the vendor to switch`,
    );
    try {
      await (existing ? deps.store.update(existing, next) : deps.store.create({ ...next, version: 0 }));
    } catch (error) {
      if (error instanceof RotationConflict)
        throw new RotationInFlight(
          `another rotation of ${role.roleArn} started at the same moment; at most one runs per role`,
        );
      throw error;
    }
    return null;
  });
  if (started) return started;
  // The lock is released: each next step takes it again, and a concurrent run that already took a step is seen.
  const next = await advanceRotation(deps, role, now);
  return { ...next, done: ['create', ...next.done] };
}

/**
 * Move an in-flight rotation as far as it can go now: set the trust policy (both IDs), notify the vendor, and once
 * CloudTrail has confirmed the new ID, finish. Past the deadline without a confirmation, alert (high) and keep both
 * IDs. Each step re-reads the state under the role's lock and does nothing if another run already took it.
 */
export async function advanceRotation(deps: RotationDeps, role: RegisteredRole, now: Date): Promise<RotationResult> {
  const done: string[] = [];
  const plan: RotationResult['plan'] = [];
  const result = (rotation: Rotation | null, waiting: string | null): RotationResult => ({
    roleArn: role.roleArn,
    phase: rotation?.phase ?? 'idle',
    done,
    waiting,
    plan,
    rotation,
  });
  for (let step = 0; step < 6; step++) {
    const rotation = await deps.store.get(role.roleArn);
    if (!rotation || !IN_FLIGHT.includes(rotation.phase)) return result(rotation, null);
    const refused = deps.refuse(role.roleArn);
    if (refused) {
      // It became protected (say) mid-rotation: roleguard may neither finish nor roll it back, so it would sit there.
      if (!dryRunOf(deps, role))
        await alertOnce(
          deps,
          role.roleArn,
          `protected#${rotation.rotationId}`,
          {
            severity: 'high',
            roleArn: role.roleArn,
            vendor: role.vendor,
            title: `External-ID rotation stuck: ${role.vendor}`,
            message: `The rotation of ${role.roleArn} is ${rotation.phase} (started ${rotation.startedAt}), but roleguard may no longer change the role: ${refused}. It neither finishes nor rolls back, and the trust policy may accept both IDs ${maskExternalId(rotation.previousId)} and ${maskExternalId(rotation.pendingId)}. Edit the trust policy by hand, or make the role changeable again and let the rotation go on.`,
          },
          now,
        );
      return result(rotation, `refused: ${refused}`);
    }
    try {
      if (rotation.closing === 'rollback') {
        const out = await rollbackRotation(deps, role, now, { force: true });
        return { ...out, done: [...done, ...out.done], plan: [...plan, ...out.plan] };
      } else if (rotation.phase === 'confirmed' && rotation.closing !== 'finish' && !isQuiet(rotation, role, now)) {
        return result(rotation, await notQuietYet(deps, role, rotation, now));
      } else if (rotation.closing === 'finish' || rotation.phase === 'confirmed') {
        const out = await finishRotation(deps, role, now, {});
        return { ...out, done: [...done, ...out.done], plan: [...plan, ...out.plan] };
      } else if (rotation.phase === 'created') {
        const out = await setStep(deps, role, now);
        if (out.plan) {
          plan.push(out.plan);
          return result(rotation, 'dry run: nothing was written');
        }
        done.push('set');
      } else if (rotation.phase === 'set') {
        if (dryRunOf(deps, role)) {
          plan.push({ step: 'notify', document: null });
          return result(rotation, 'dry run: the vendor was not told');
        }
        if (!deps.notifier.vendor)
          return result(
            rotation,
            "the trust policy accepts both IDs; the deployed rotate function tells the vendor's contact on its next run",
          );
        await deps.notifier.vendor(role, rotation);
        await deps.store.update(
          rotation,
          note(
            { ...rotation, phase: 'notified', notifiedAt: at(now), lastError: null },
            now,
            'notify',
            `the vendor's contact was given the new ID ${maskExternalId(rotation.pendingId)}`,
          ),
        );
        done.push('notify');
      } else if (rotation.phase === 'notified') {
        if (rotation.deadlineAt && now.toISOString() >= rotation.deadlineAt) {
          if (!dryRunOf(deps, role)) {
            await alertOnce(
              deps,
              role.roleArn,
              `overdue#${rotation.rotationId}`,
              {
                severity: 'high',
                roleArn: role.roleArn,
                vendor: role.vendor,
                title: `External-ID rotation overdue: ${role.vendor} has not used the new ID`,
                message: `The rotation of ${role.roleArn} started ${rotation.startedAt} and was due to be confirmed by ${rotation.deadlineAt}, but no assume with the new ID ${maskExternalId(rotation.pendingId)} has been seen.${stillUsing(rotation, null)} Both IDs stay accepted. Ask the vendor to switch, then let it finish; or run roleguard rotate --role ${role.roleArn} --finish --force to drop the old ID anyway (the vendor breaks if it still uses it), or --rollback to drop the new one.`,
              },
              now,
            );
          }
          return result(
            rotation,
            `overdue since ${rotation.deadlineAt}: waiting for the vendor to use the new ID; both IDs stay accepted`,
          );
        }
        return result(rotation, `waiting for the vendor to assume with the new ID (deadline ${rotation.deadlineAt})`);
      }
    } catch (error) {
      if (error instanceof RotationConflict) continue;
      const message = `${(error as Error).name}: ${(error as Error).message}`;
      deps.logger.error('rotation step failed; the next run retries it', {
        roleArn: role.roleArn,
        phase: rotation.phase,
        error: message,
      });
      // A dry run writes nothing and alerts nothing, not even about its own failure: it is reported to the caller.
      if (!dryRunOf(deps, role)) await noteError(deps, role.roleArn, message);
      if (error instanceof RotationRefused && !dryRunOf(deps, role)) {
        const remedy =
          error instanceof UnexpectedExternalIds
            ? 'Nothing was changed and the rotation waits; a rollback is refused for the same reason.'
            : `Both IDs stay as they are; fix the cause, or roll back with roleguard rotate --role ${role.roleArn} --rollback.`;
        await alertOnce(
          deps,
          role.roleArn,
          `refused#${rotation.rotationId}#${rotation.phase}`,
          {
            severity: 'high',
            roleArn: role.roleArn,
            vendor: role.vendor,
            title: `External-ID rotation stuck: ${role.vendor}`,
            message: `${error.message}. ${remedy}`,
          },
          now,
        ).catch(() => undefined);
      }
      throw error;
    }
  }
  return result(await deps.store.get(role.roleArn), null);
}

/** Whether a confirmed rotation's old ID has gone unused for the quiet period (after the confirmation too). */
const isQuiet = (rotation: Rotation, role: RegisteredRole, now: Date) =>
  now.toISOString() >= (finishableAt(rotation, role) ?? at(now));

/** An ID retired by a write at `writtenAt` counts as retired from IAM's propagation on. */
const retiredFrom = (writtenAt: string) => new Date(Date.parse(writtenAt) + RETIRE_GRACE_MS).toISOString();

/** When this rotation's finish write was recorded (just before IAM was called); null when none was needed. */
function finishWrite(rotation: Omit<Rotation, 'version'>): string | null {
  const last = rotation.writes[rotation.writes.length - 1];
  return last?.step === 'finish' && rotation.startedAt !== null && last.at >= rotation.startedAt ? last.at : null;
}

/** " The old ID is still used by …" for a message, or nothing. */
function stillUsing(rotation: Rotation, since: string | null): string {
  const users = oldIdCallersSince(rotation, since);
  return users.length
    ? ` The old ID ${maskExternalId(rotation.previousId)} is still used by ${describeOldIdCallers(users)}.`
    : '';
}

/**
 * A confirmed rotation inside its quiet period: wait. Past the deadline, with the old ID still used since the
 * confirmation, alert (high) naming who uses it, once a week.
 */
async function notQuietYet(deps: RotationDeps, role: RegisteredRole, rotation: Rotation, now: Date): Promise<string> {
  const until = finishableAt(rotation, role);
  const users = oldIdCallersSince(rotation, rotation.confirmedAt);
  const overdue = rotation.deadlineAt !== null && at(now) >= rotation.deadlineAt && users.length > 0;
  if (overdue && !dryRunOf(deps, role)) {
    await alertOnce(
      deps,
      role.roleArn,
      `old-id-in-use#${rotation.rotationId}`,
      {
        severity: 'high',
        roleArn: role.roleArn,
        vendor: role.vendor,
        title: `External-ID rotation overdue: ${role.vendor} still uses the old ID`,
        message: `The rotation of ${role.roleArn} was confirmed ${rotation.confirmedAt} (an assume with the new ID ${maskExternalId(rotation.pendingId)}) and was due to finish by ${rotation.deadlineAt}, but the old ID was used since.${stillUsing(rotation, rotation.confirmedAt)} Both IDs stay accepted until the old one has gone unused for ${quietHoursOf(role)} h. Ask the vendor to switch those workers; or run roleguard rotate --role ${role.roleArn} --finish --force to drop the old ID anyway (they break).`,
      },
      now,
    );
  }
  const seen = users.length ? `; still seen with the old ID: ${describeOldIdCallers(users)}` : '';
  return `${overdue ? `overdue since ${rotation.deadlineAt}: ` : ''}confirmed; finishing once the old ID has gone unused for ${quietHoursOf(role)} h (not before ${until})${seen}`;
}

/** Step 2, set: the trust policy accepts the current and the pending ID. */
async function setStep(
  deps: RotationDeps,
  role: RegisteredRole,
  now: Date,
): Promise<{ plan?: { step: string; document: string } }> {
  return withLock(
    deps,
    role.roleArn,
    async () => {
      const rotation = await deps.store.get(role.roleArn);
      if (rotation?.phase !== 'created') return {};
      const document = await deps.trust.read(role.roleArn);
      refuseOtherIds(role, document, rotation, 'set');
      const edited = edit(deps, role, document, [rotation.previousId!, rotation.pendingId!]);
      if (dryRunOf(deps, role)) return { plan: { step: 'set', document: edited.document } };
      const noted = edited.changed ? await writeTrust(deps, rotation, edited.document, 'set', now) : rotation;
      await deps.store.update(
        noted,
        note(
          { ...noted, phase: 'set', setAt: at(now), lastError: null },
          now,
          'set',
          `the trust policy accepts both ${maskExternalId(rotation.previousId)} and ${maskExternalId(rotation.pendingId)}${edited.changed ? '' : ' (it already did)'}`,
        ),
      );
      return {};
    },
    dryRunOf(deps, role),
  );
}

/**
 * Step 5, finish: remove the old ID from the trust policy; the pending ID becomes current and the old one retired.
 * Only once CloudTrail confirmed the new ID, unless forced. Under the lock, the decision (`closing: finish`) is
 * recorded with the policy's hash in one conditional write before IAM is called, so a late confirmation cannot undo
 * it and an interrupted finish is completed by the next run. Sessions issued with the old ID are then revoked where
 * the role asks for it (one intent per rotation, so a repeat never revokes twice), outside the lock, and only then
 * does the state say finished.
 */
export async function finishRotation(
  deps: RotationDeps,
  role: RegisteredRole,
  now: Date,
  options: { force?: boolean; requestedBy?: string | null },
): Promise<RotationResult> {
  const refused = deps.refuse(role.roleArn);
  if (refused) throw new RotationRefused(`roleguard does not rotate ${role.roleArn}: ${refused}`);
  const dryRun = dryRunOf(deps, role);
  const plan: RotationResult['plan'] = [];
  const decided = await withLock(
    deps,
    role.roleArn,
    async () => {
      const rotation = await deps.store.get(role.roleArn);
      if (!rotation || !IN_FLIGHT.includes(rotation.phase))
        throw new RotationRefused(
          `no rotation of ${role.roleArn} is in flight${rotation ? ` (it is ${rotation.phase})` : ''}`,
        );
      if (rotation.closing === 'rollback')
        throw new RotationRefused(`the rotation of ${role.roleArn} is being rolled back`);
      if (rotation.closing !== 'finish') {
        if (rotation.phase === 'created')
          throw new RotationRefused(
            `the rotation of ${role.roleArn} has not set the trust policy yet; the vendor cannot have the new ID`,
          );
        if (rotation.phase !== 'confirmed' && !options.force) {
          throw new RotationRefused(
            `the vendor has not yet assumed ${role.roleArn} with the new ID ${maskExternalId(rotation.pendingId)}; finishing now would break it if it still uses the old one. Wait for the confirmation, or use --force`,
          );
        }
        if (!options.force && !isQuiet(rotation, role, now)) {
          const users = oldIdCallersSince(rotation, rotation.confirmedAt);
          throw new RotationNotQuiet(
            `the vendor confirmed the new ID for ${role.roleArn} at ${rotation.confirmedAt}, but the old ID ${maskExternalId(rotation.previousId)} must go unused for ${quietHoursOf(role)} h first (until ${finishableAt(rotation, role)})${users.length ? `; still seen with it: ${describeOldIdCallers(users)}` : ''}. Finishing now could lock out a worker still on the old ID. Wait, or use --force`,
          );
        }
      }
      const document = await deps.trust.read(role.roleArn);
      refuseOtherIds(role, document, rotation, 'finish');
      const edited = edit(deps, role, document, [rotation.pendingId!]);
      if (dryRun) {
        plan.push({ step: 'finish', document: edited.document });
        return rotation;
      }
      const forced =
        rotation.closing === 'finish'
          ? null
          : rotation.phase !== 'confirmed'
            ? 'without a confirmation'
            : isQuiet(rotation, role, now)
              ? null
              : `before the old ID went unused for ${quietHoursOf(role)} h`;
      const closing = await writeTrust(
        deps,
        rotation,
        edited.changed ? edited.document : null,
        'finish',
        now,
        'finish',
      );
      return forced
        ? await deps.store.update(
            closing,
            note(closing, now, 'finish', `forced by ${options.requestedBy ?? 'hand'} ${forced}`),
          )
        : closing;
    },
    dryRun,
  );
  if (dryRun)
    return {
      roleArn: role.roleArn,
      phase: decided.phase,
      done: [],
      waiting: 'dry run: nothing was written',
      plan,
      rotation: decided,
    };
  const done = ['finish'];
  // Before the state says finished: a crash here leaves `closing: finish`, and the next run revokes again under the
  // same intent id, so the revocation is neither lost nor doubled.
  if (role.rotation?.revokeOldSessions && deps.revokeOldSessions)
    done.push(`revoke-old-sessions: ${await deps.revokeOldSessions(role, decided, now)}`);
  const finished = await updateLatest(deps, role.roleArn, (r) =>
    r.closing !== 'finish' || r.rotationId !== decided.rotationId
      ? null
      : note(
          {
            ...r,
            phase: 'finished',
            closing: null,
            finishedAt: at(now),
            since: at(now),
            forced: r.phase !== 'confirmed',
            currentId: r.pendingId,
            // Counted from the IAM write (recorded just before it), plus IAM's propagation: an assume with the old
            // ID that STS still accepted meanwhile is not the use of a retired ID.
            retiredAt: { ...r.retiredAt, [r.previousId!]: retiredFrom(finishWrite(r) ?? at(now)) },
            lastError: null,
          },
          now,
          'finish',
          `the trust policy accepts only ${maskExternalId(r.pendingId)}; ${maskExternalId(r.previousId)} is retired`,
        ),
  );
  return { roleArn: role.roleArn, phase: finished?.phase ?? 'finished', done, waiting: null, plan, rotation: finished };
}

/**
 * Roll back: the trust policy accepts the previous ID only again, and the pending ID is dropped for good (its use
 * is then a retired-external-id finding). Only the sts:ExternalId values change, so any other edit made to the
 * policy meanwhile stays. Refused once the vendor has confirmed the new ID, unless forced: it would break the vendor.
 * The decision (`closing: rollback`) is recorded before IAM is called, so a confirmation arriving meanwhile is
 * ignored rather than undoing the rollback, and an interrupted rollback is completed by the next run.
 */
export async function rollbackRotation(
  deps: RotationDeps,
  role: RegisteredRole,
  now: Date,
  options: { force?: boolean; requestedBy?: string | null } = {},
): Promise<RotationResult> {
  const refused = deps.refuse(role.roleArn);
  if (refused) throw new RotationRefused(`roleguard does not rotate ${role.roleArn}: ${refused}`);
  const dryRun = dryRunOf(deps, role);
  const plan: RotationResult['plan'] = [];
  const after = await withLock(
    deps,
    role.roleArn,
    async () => {
      const rotation = await deps.store.get(role.roleArn);
      if (!rotation || !IN_FLIGHT.includes(rotation.phase))
        throw new RotationRefused(
          `no rotation of ${role.roleArn} is in flight${rotation ? ` (it is ${rotation.phase})` : ''}; a finished rotation is undone by another rotation, not a rollback`,
        );
      if (rotation.closing === 'finish')
        throw new RotationRefused(`the rotation of ${role.roleArn} is finishing; start another rotation instead`);
      if (rotation.phase === 'confirmed' && !options.force && rotation.closing !== 'rollback') {
        throw new RotationRefused(
          `the vendor already assumed ${role.roleArn} with the new ID (${rotation.confirmation?.at}); rolling back would break it. Use --force if that is intended`,
        );
      }
      const document = await deps.trust.read(role.roleArn);
      refuseOtherIds(role, document, rotation, 'rollback');
      const edited = edit(deps, role, document, [rotation.previousId!]);
      if (dryRun) {
        plan.push({ step: 'rollback', document: edited.changed ? edited.document : null });
        return rotation;
      }
      const closing = await writeTrust(
        deps,
        rotation,
        edited.changed ? edited.document : null,
        'rollback',
        now,
        'rollback',
      );
      return deps.store.update(
        closing,
        note(
          {
            ...closing,
            phase: 'rolled-back',
            closing: null,
            rolledBackAt: at(now),
            since: at(now),
            retiredAt: { ...closing.retiredAt, [closing.pendingId!]: retiredFrom(at(now)) },
            lastError: null,
          },
          now,
          'rollback',
          `by ${options.requestedBy ?? 'hand'}: the trust policy accepts only ${maskExternalId(rotation.previousId)} again; ${maskExternalId(rotation.pendingId)} is dropped`,
        ),
      );
    },
    dryRun,
  );
  return {
    roleArn: role.roleArn,
    phase: after.phase,
    done: dryRun ? [] : ['rollback'],
    waiting: dryRun ? 'dry run: nothing was written' : null,
    plan,
    rotation: after,
  };
}

/**
 * The scheduled run for one role: record a baseline the first time, start a rotation when the schedule says so, and
 * move one in flight along. Roles without a schedule are only moved along when a rotation was started by hand.
 */
export async function runRotationSchedule(
  deps: RotationDeps,
  role: RegisteredRole,
  now: Date,
): Promise<RotationResult> {
  let rotation = await deps.store.get(role.roleArn);
  if (rotation && IN_FLIGHT.includes(rotation.phase)) return advanceRotation(deps, role, now);
  const idle = (waiting: string | null): RotationResult => ({
    roleArn: role.roleArn,
    phase: rotation?.phase ?? 'idle',
    done: [],
    waiting,
    plan: [],
    rotation,
  });
  if (!role.rotation) return idle(null);
  if (!rotation) {
    if (dryRunOf(deps, role)) return idle('dry run: the schedule starts counting once roleguard may write');
    try {
      rotation = await deps.store.create(idleRotation(role.roleArn, at(now)));
    } catch (error) {
      if (!(error instanceof RotationConflict)) throw error;
      rotation = await deps.store.get(role.roleArn);
    }
  }
  const due = nextRotationDue(role, rotation);
  if (!due || now.toISOString() < due) return idle(due ? `next rotation due ${due}` : null);
  try {
    return await startRotation(deps, role, { trigger: 'schedule', now });
  } catch (error) {
    if (!(error instanceof RotationRefused) || !rotation) throw error;
    // Someone started one at the same moment: that one runs, and there is nothing to say.
    if (error instanceof RotationInFlight) return idle(error.message);
    // A due rotation that cannot start is alerted once (a week), and the run goes on with the other roles.
    if (!dryRunOf(deps, role)) {
      await alertOnce(
        deps,
        role.roleArn,
        `cannot-start#${error.message}`,
        {
          severity: 'high',
          roleArn: role.roleArn,
          vendor: role.vendor,
          title: `External-ID rotation due but not started: ${role.vendor}`,
          message: error.message,
        },
        now,
      );
    }
    return idle(`due since ${due} but refused: ${error.message}`);
  }
}

/** One scheduled run over the registry: what happened per role, and the roles that failed (retried next run). */
export interface RotationRun {
  results: RotationResult[];
  failed: { roleArn: string; error: string }[];
}

/**
 * The scheduled run: every role with a schedule or a rotation in flight, one at a time (each holds its own lock).
 * A role that fails does not stop the others; the failures are returned for the caller to raise.
 */
export async function runRotations(deps: RotationDeps, roles: RegisteredRole[], now: Date): Promise<RotationRun> {
  const flying = (await deps.store.list()).filter((r) => IN_FLIGHT.includes(r.phase));
  const inFlight = new Set(flying.map((r) => r.roleArn));
  const run: RotationRun = { results: [], failed: [] };
  const registered = new Set(roles.map((r) => r.roleArn));
  for (const rotation of flying.filter((r) => !registered.has(r.roleArn))) {
    try {
      run.results.push(await unregistered(deps, rotation, now));
    } catch (error) {
      run.failed.push({ roleArn: rotation.roleArn, error: `${(error as Error).name}: ${(error as Error).message}` });
    }
  }
  for (const role of roles) {
    if (!role.rotation && !inFlight.has(role.roleArn)) continue;
    try {
      run.results.push(await runRotationSchedule(deps, role, now));
    } catch (error) {
      run.failed.push({ roleArn: role.roleArn, error: `${(error as Error).name}: ${(error as Error).message}` });
    }
  }
  return run;
}

/**
 * A rotation in flight of a role no longer in the registry: without its registry entry roleguard cannot take a step
 * (it neither finishes nor rolls back), so say so, once a week, instead of leaving it stuck silently.
 */
async function unregistered(deps: RotationDeps, rotation: Rotation, now: Date): Promise<RotationResult> {
  const waiting = `${rotation.phase}, but the role is no longer in the registry: roleguard takes no step`;
  if (!deps.dryRun)
    await alertOnce(
      deps,
      rotation.roleArn,
      `unregistered#${rotation.rotationId}`,
      {
        severity: 'high',
        roleArn: rotation.roleArn,
        vendor: 'a role no longer registered',
        title: 'External-ID rotation stuck: the role is no longer in the registry',
        message: `The rotation of ${rotation.roleArn} is ${rotation.phase} (started ${rotation.startedAt}), but the role is no longer in the registry, so roleguard neither finishes nor rolls it back; the trust policy may accept both IDs ${maskExternalId(rotation.previousId)} and ${maskExternalId(rotation.pendingId)}. Register the role again (roleguard roles import) to let the rotation go on, or edit its trust policy by hand.`,
      },
      now,
    );
  return { roleArn: rotation.roleArn, phase: rotation.phase, done: [], waiting, plan: [], rotation };
}
