/** The evauth cloud: the registry (SQLite), the credential service and the demo seed. */
export { openRegistry, Registry, RegistryError } from './registry.js';
