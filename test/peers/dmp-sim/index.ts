/** The strict DMP simulator (issue 4): HTTPS + mTLS, /registry and /repository, SQLite-backed. */
export { startDmpSimulator, DEFAULT_REPOSITORY_UNIQUE_ID, type DmpSimulator, type DmpSimulatorOptions } from './simulator.js';
export type { Faults, FaultRule } from './faults.js';
export type { LoggedRequest } from './server.js';
export type { EntryRow } from './store.js';
export { issueCertificate, loadOrCreateTestCa, type TestCa, type IssuedCertificate, type IssueOptions } from './test-ca.js';
