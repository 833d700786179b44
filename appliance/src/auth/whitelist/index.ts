export { commonName, formatDistinguishedName, parseDistinguishedName, sameDistinguishedName, type Attribute, type DistinguishedName } from './dn.js';
export { findDomainByCertificate, findDomainByHost } from './lookup.js';
export { WHITELIST_NS, WHITELIST_VERSION, parseWhitelist, type Whitelist, type WhitelistDomain } from './parse.js';
export { createWhitelistStore, type WhitelistStatus, type WhitelistStore, type WhitelistStoreOptions } from './store.js';
export {
  WHITELIST_SIGNER_SUBJECT,
  WhitelistRejected,
  loadCertificates,
  verifyWhitelist,
  type VerifiedWhitelist,
  type WhitelistTrust,
} from './verify.js';
