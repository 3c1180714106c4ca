export { arnMatches, indexRegistry, type RegistryIndex } from './match.js';
export {
  cachedRegistry,
  createRegistryStore,
  RegistryConflictError,
  type RegistryStore,
  registryTableDefinition,
} from './store.js';
export type { RegisteredRole, Registry } from './types.js';
export {
  EXTERNAL_ID,
  RegistryError,
  registryToDocument,
  roleToDocument,
  validateRegistry,
} from './validate.js';
