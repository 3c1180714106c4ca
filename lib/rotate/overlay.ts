import type { RegisteredRole, Registry } from '../registry/types.js';
import { IN_FLIGHT, type Rotation } from './store.js';

/**
 * The registry as rotations have changed it. The registry (file or import) names a current ID; roleguard's finished
 * rotations made later IDs current, so when the registry's current ID is the one roleguard last made current or one
 * it retired since, roleguard's current ID stands. A rotation in flight keeps both its IDs accepted: its pending ID
 * when the current ID is its previous one, its previous ID when the current ID is already its new one. A registry
 * imported later with an ID roleguard never handled wins. Every ID roleguard retired or dropped counts as retired.
 * Pure.
 */
export function withRotations(registry: Registry, rotations: Rotation[]): Registry {
  if (rotations.length === 0) return registry;
  const byRole = new Map(rotations.map((r) => [r.roleArn, r]));
  return { ...registry, roles: registry.roles.map((role) => overlay(role, byRole.get(role.roleArn))) };
}

function overlay(role: RegisteredRole, rotation: Rotation | undefined): RegisteredRole {
  if (!rotation) return role;
  let { current, pending } = role.externalIds;
  // In the order they were retired (a DynamoDB map keeps no order).
  const ours = Object.entries(rotation.retiredAt ?? {})
    .sort((a, b) => a[1].localeCompare(b[1]) || a[0].localeCompare(b[0]))
    .map(([id]) => id);
  if (rotation.currentId && current !== rotation.currentId && current !== null && ours.includes(current))
    current = rotation.currentId;
  if (pending !== null && (pending === current || ours.includes(pending))) pending = null;
  // In flight, both of the rotation's IDs stay accepted, whichever of them the registry names current: a registry
  // re-imported mid-rotation with the new ID current must not turn the old one (still in use) into an unknown ID.
  if (IN_FLIGHT.includes(rotation.phase) && rotation.previousId && rotation.pendingId) {
    const other =
      current === rotation.previousId
        ? rotation.pendingId
        : current === rotation.pendingId
          ? rotation.previousId
          : null;
    if (other !== null && (pending === null || pending === other)) pending = other;
  }
  const retired = [...new Set([...role.externalIds.retired, ...ours])].filter((id) => id !== current && id !== pending);
  return { ...role, externalIds: { current, pending, retired } };
}
