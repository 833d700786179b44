import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { migrations as allMigrations, type Migration } from './migrations/index.js';

export type Db = Database.Database;

/** Opens the box's single SQLite file in WAL mode and brings its schema up to date. */
export function openDatabase(file: string, migrations: Migration[] = allMigrations): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  let db: Db;
  try {
    db = new Database(file);
  } catch (err) {
    throw new Error(`cannot open database ${file}: ${(err as Error).message}`);
  }
  db.pragma('journal_mode = WAL');
  // FULL: each commit is synced to the WAL before it returns. With NORMAL a committed transaction "might roll back
  // following a power loss" (sqlite.org/pragma.html#pragma_synchronous): a report already ACKed to the RIS, or a
  // submission the DMP already has, would be lost or redone on a box whose power is pulled.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Another process (the `drimbox` command, a backup) may hold the write lock: wait up to 5 s for it. Every write
  // transaction starts with BEGIN IMMEDIATE (`.immediate()`): a deferred one that has read first cannot wait —
  // SQLite answers SQLITE_BUSY at once rather than let its snapshot go stale.
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations);
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: Db, migrations: Migration[]): void {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations must be numbered 1..n without gaps: found ${m.version} at position ${i + 1}`);
  });
  const current = schemaVersion(db);
  if (current > sorted.length) {
    throw new Error(`database schema version ${current} is newer than this software (knows ${sorted.length}): refusing to run on it`);
  }
  for (const m of sorted.slice(current)) {
    db.transaction(() => {
      try {
        db.exec(m.sql);
      } catch (err) {
        throw new Error(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`);
      }
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}

/** The box's one SQLite file, under its data directory. */
export function databaseFile(dataDir: string): string {
  return join(dataDir, 'drimbox.sqlite');
}
