import type { Migration } from './index.js';

/** Series metadata served over DICOMweb, gzipped, rebuilt when the series changes (appliance/src/dicomweb/metadata.ts). */
export const m004DicomwebCache: Migration = {
  version: 4,
  name: 'dicomweb series metadata cache',
  sql: `
    CREATE TABLE dicomweb_series_metadata (
      study_uid TEXT NOT NULL,
      series_uid TEXT NOT NULL,
      instance_count INTEGER NOT NULL,
      base_url TEXT NOT NULL,
      json_gz BLOB NOT NULL,
      bytes INTEGER NOT NULL,
      built_at TEXT NOT NULL,
      used_at TEXT NOT NULL,
      PRIMARY KEY (study_uid, series_uid)
    );
    CREATE INDEX dicomweb_series_metadata_used ON dicomweb_series_metadata (used_at);
  `,
};
