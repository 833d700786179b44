import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../appliance/src/config/schema.js';
import { openDatabase, type Db } from '../../appliance/src/store/database.js';
import { SetupDraft } from '../../appliance/src/setup/draft-store.js';
import { SetupInputError, SetupWizard } from '../../appliance/src/setup/wizard.js';
import type { SetupProbes } from '../../appliance/src/setup/probe-bindings.js';
import { Hl7ExchangeLog } from '../../appliance/src/source/hl7-exchange-log.js';
import { createLogger } from '../../appliance/src/log/logger.js';

let work: string;
let db: Db;

function wizard(): SetupWizard {
  work = mkdtempSync(join(tmpdir(), 'drimbox-certs-'));
  const usbDir = join(work, 'usb');
  mkdirSync(usbDir);
  db = openDatabase(join(work, 'box.db'));
  const config = configSchema.parse({ dataDir: join(work, 'data'), setup: { usbDir } });
  const probes = { usbFiles: async () => [{ name: 'cabinet.p12', size: 3 }, { name: 'vide.pem', size: 0 }] } as unknown as SetupProbes;
  return new SetupWizard({ config, configFile: undefined, env: {}, draft: new SetupDraft(db), probes, hl7: new Hl7ExchangeLog(), onApplied: () => undefined, log: createLogger(), hl7Port: 2575, hl7Address: () => '127.0.0.1' });
}

afterEach(() => {
  db?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the structure’s certificate files', () => {
  it('are kept the same way from the USB stick as from an upload: fixed name, owner-only, in the answers', async () => {
    const w = wizard();
    const onStick = join(work, 'usb', 'cabinet.p12');
    writeFileSync(onStick, 'p12');
    chmodSync(onStick, 0o644); // what a FAT stick shows
    writeFileSync(join(work, 'usb', 'vide.pem'), '');
    const copied = await w.copyFromUsb('p12', 'cabinet.p12');
    expect(copied).toBe(join(work, 'data', 'certificats', 'structure.p12'));
    expect(readFileSync(copied, 'utf8')).toBe('p12');
    expect(statSync(copied).mode & 0o777).toBe(0o600);
    const uploaded = await w.storeCertificate('ca', Buffer.from('pem'));
    expect(statSync(uploaded).mode & 0o777).toBe(0o600);
    expect(w.answers('certificat')).toMatchObject({ p12File: copied, caFile: uploaded });
    await expect(w.copyFromUsb('ca', 'vide.pem')).rejects.toMatchObject({ code: 'file-empty' });
    await expect(w.copyFromUsb('ca', '../box.db')).rejects.toBeInstanceOf(SetupInputError);
  });
});
