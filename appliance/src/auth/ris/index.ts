export { AddressList, normaliseAddress } from './address.js';
export { RisCredential, type RisDecision, type RisCredentialOptions } from './credential.js';
