import { m001Meta } from './001-meta.js';
import { m002Source } from './002-source.js';
import { m003Audit } from './003-audit.js';
import { m004DicomwebCache } from './004-dicomweb-cache.js';
import { m005Consumer } from './005-consumer.js';
import { m006InboxHeld } from './006-inbox-held.js';
import { m007ConsumerRefreshToken } from './007-consumer-refresh-token.js';
import { m008SetupDraft } from './008-setup-draft.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Applied in order at start; a version once released is never edited, only followed by a new one. */
export const migrations: Migration[] = [m001Meta, m002Source, m003Audit, m004DicomwebCache, m005Consumer, m006InboxHeld, m007ConsumerRefreshToken, m008SetupDraft];
