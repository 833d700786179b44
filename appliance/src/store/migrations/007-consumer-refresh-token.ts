import type { Migration } from './index.js';

/** Pro Santé Connect's refresh token, kept with the portal session: an expired access token is renewed silently. */
export const m007ConsumerRefreshToken: Migration = {
  version: 7,
  name: 'consumer sessions: PSC refresh token',
  sql: `ALTER TABLE consumer_sessions ADD COLUMN refresh_token TEXT;`,
};
