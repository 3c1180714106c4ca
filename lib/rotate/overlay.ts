import type { Registry, RegisteredRole } from '../registry/types.js';
import { IN_FLIGHT, type Rotation } from './store.js';

/**
 * The registry as rotations have changed it. The registry (file or import) says which ID was current; a rotation
 * that started from that ID adds its pending ID, and one that finished makes the new ID current and the old one
 * retired. A rotation that started from another ID than the registry's current one is ignored: the registry was
 * re-imported since, and it wins. IDs dropped by a rollback count as retired. Pure.
 */
export function withRotations(registry: Registry, rotations: Rotation[]): Registry {
  if (rotations.length === 0) return registry;
  const byRole = new Map(rotations.map((r) => [r.roleArn, r]));
  return { ...registry, roles: registry.roles.map((role) => overlay(role, byRole.get(role.roleArn))) };
}

function overlay(role: RegisteredRole, rotation: Rotation | undefined): RegisteredRole {
  if (!rotation) return role;
  let { current, pending, retired } = role.externalIds;
  if (IN_FLIGHT.includes(rotation.phase) && rotation.previousId === current && rotation.pendingId && (pending === null || pending === rotation.pendingId)) {
    pending = rotation.pendingId;
  } else if (rotation.phase === 'finished' && rotation.pendingId && rotation.previousId) {
    if (current === rotation.previousId && (pending === null || pending === rotation.pendingId)) {
      current = rotation.pendingId;
      pending = null;
      retired = [...retired, rotation.previousId];
    } else if (current === rotation.pendingId) {
      retired = [...retired, rotation.previousId];
    }
  }
  retired = [...new Set([...retired, ...rotation.abandonedIds])].filter((id) => id !== current && id !== pending);
  return { ...role, externalIds: { current, pending, retired } };
}
