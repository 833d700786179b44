export { createPscClient, PscError, type PscClient, type PscFailure } from './client.js';
export { createTokenIntrospector, interpret, type IntrospectFn, type IntrospectorOptions, type TokenIntrospector } from './introspector.js';
export { parsePscUserInfo, type PscUserInfo } from './userinfo.js';
export * from './types.js';
