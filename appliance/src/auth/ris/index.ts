export { RisCredential, type RisDecision, type RisCredentialOptions } from './credential.js';
