export type { Registry, RegisteredRole } from './types.js';
export { validateRegistry, RegistryError, EXTERNAL_ID } from './validate.js';
export { indexRegistry, arnMatches, type RegistryIndex } from './match.js';
export { createRegistryStore, cachedRegistry, registryTableDefinition, type RegistryStore } from './store.js';
