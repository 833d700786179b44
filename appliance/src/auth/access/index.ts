export { bearerToken } from './bearer.js';
export { decide, precheck } from './decide.js';
export { callerKey, createRateLimiter, type RateDecision, type RateLimiter, type RateLimiterOptions } from './rate-limit.js';
export type {
  AccessDecision,
  AccessRequest,
  CallerIdentity,
  CallerPolicy,
  DenyReason,
  PublishedKos,
  RequestedResource,
} from './types.js';
