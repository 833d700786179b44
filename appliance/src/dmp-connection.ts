import { rootCertificates } from 'node:tls';
import type { Config } from './config/schema.js';
import { readNamedFile } from './config/named-file.js';
import type { KosArchive } from './store/kos-archive.js';
import type { OutboxSender } from './store/outbox.js';
import { createDmpSender, type DirectIdentity } from './source/dmp-sender.js';
import { DmpClient, contextFromConfig, endpointsFromConfig, timeoutsFromConfig, XdsConfigError, type XdsSubmissionContext } from './xds/index.js';
import type { TlsClientCredential } from './xds/transport.js';
import { structureCredentials } from './auth/structure-credentials.js';
import type { CardReader } from './auth/card/card-reader.js';
import { engineSecureContext } from './auth/pkcs11/tls-key.js';
import { sourceTlsOf, type SourceTls } from './consumer/source-transport.js';
import type { Signer } from './auth/signer/signer.js';
import { log as rootLog } from './log/logger.js';

/**
 * The box's DMP connection as the configuration describes it (xds.*, pkcs11.structure, consumer.sourceCaFile): the
 * client, its keys and CAs, the agent for the source boxes, and the outbox's sender. start-box.ts wires it in.
 */

/** The DMP connection of the configuration, or undefined when no DMP is configured (xds.baseUrl empty). */
export function dmpFromConfig(config: Config): { client: DmpClient; context: XdsSubmissionContext; signer: Signer; certificateNotAfter: Date; sourceTls: SourceTls } | undefined {
  const x = config.xds;
  if (!x.baseUrl && !x.repositoryUrl) return undefined;
  const keys = structureCredentials(x, config.pkcs11.structure);
  if (!x.caFile) throw new XdsConfigError('set xds.caFile: the DMP connection needs it');
  const ca = readConfigFile(x.caFile, 'xds.caFile');
  const sourceCa = config.consumer.sourceCaFile ? readConfigFile(config.consumer.sourceCaFile, 'consumer.sourceCaFile') : undefined;
  let dmpCredential: TlsClientCredential;
  let sourceTls: SourceTls;
  if ('privateKeyEngine' in keys.tls) {
    // OpenSSL's engine makes one context per process (auth/pkcs11/tls-key.ts): the DMP and the source boxes share
    // it, with both sets of CAs (each connection still checks its server's name).
    const shared = engineSecureContext(keys.tls, { ca: Buffer.concat([ca, Buffer.from('\n'), sourceCa ?? Buffer.from(rootCertificates.join('\n'))]), minVersion: 'TLSv1.2' });
    dmpCredential = { secureContext: shared };
    sourceTls = sourceTlsOf({ secureContext: shared, rejectUnauthorized: true });
  } else {
    dmpCredential = keys.tls;
    sourceTls = sourceTlsOf({ ...keys.tls, ...(sourceCa ? { ca: sourceCa } : {}), minVersion: 'TLSv1.2', rejectUnauthorized: true });
  }
  const context = contextFromConfig(x);
  const client = new DmpClient({
    endpoints: endpointsFromConfig(x),
    tls: { ca, credential: dmpCredential },
    timeouts: timeoutsFromConfig(x),
    context,
    signer: keys.signer,
  });
  rootLog.info('DMP keys', keys.describe);
  return { client, context, signer: keys.signer, certificateNotAfter: keys.tlsNotAfter, sourceTls };
}

function readConfigFile(file: string, key: string): Buffer {
  return readNamedFile(file, key, (message) => new XdsConfigError(message));
}

/** Direct mode's signer for the outbox: the card logged in at the box, in its holder's name. */
export function directIdentity(card: CardReader): () => DirectIdentity | undefined {
  return () => {
    const c = card.current();
    return c && { signer: c.signer, nameId: c.holder.nationalId, subjectName: [c.holder.givenName, c.holder.surname].filter(Boolean).join(' ') };
  };
}

/** The outbox's sender to the configured DMP, or undefined when no DMP is configured. */
export function dmpSenderFromConfig(config: Config, archive: KosArchive): OutboxSender | undefined {
  const dmp = dmpFromConfig(config);
  return dmp && createDmpSender({ ...dmp, archive, dataDir: config.dataDir });
}

/** The outbox's sender while no DMP is configured: every operation waits (retryable) for one. */
export const notConfiguredSender: OutboxSender = {
  async send() {
    return { kind: 'retryable', reason: 'no DMP connection configured on this box (xds.* settings)' };
  },
};
