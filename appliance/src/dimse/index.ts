export * from './types.js';
export { createPacsBridge, type BoxIdentity } from './bridge.js';
export { startStoreScp, type StoreScp, type StoreScpOptions, type InstanceOrigin } from './scp.js';
export { isValidUid, instancePath } from './uid.js';
