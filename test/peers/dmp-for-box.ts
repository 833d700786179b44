import { randomBytes } from 'node:crypto';
import { startDmpSimulator, type DmpSimulator } from './dmp-sim/simulator.js';

export const DEMO_STRUCTURE_ID = '499700367909006';

/**
 * The DMP simulator plus what a box needs to talk to it: certificates issued by the simulator's CA
 * (ORG AUTH_CLI client, signature) and the `xds` configuration section pointing at it.
 */
export async function startDmpForBox(dataDir: string, options: { knownPatients?: string[]; ca?: { certPem: string; keyPem: string } } = {}): Promise<{ sim: DmpSimulator; xds: Record<string, unknown> }> {
  const sim = await startDmpSimulator({ dataDir, knownPatients: options.knownPatients, ...(options.ca ? { ca: options.ca } : {}) });
  const password = randomBytes(12).toString('hex');
  const subject = `/C=FR/O=Cabinet de radiologie de test/OU=${DEMO_STRUCTURE_ID}/CN=DRIMbox`;
  const client = sim.issueCertificate({ name: 'box-auth-client', usage: 'client', subject, p12Password: password });
  const signature = sim.issueCertificate({ name: 'box-signature', usage: 'signature', subject, p12Password: password });
  const xds = {
    baseUrl: sim.url,
    caFile: sim.caCertPath,
    tlsP12File: client.p12Path,
    tlsP12Password: password,
    signatureP12File: signature.p12Path,
    signatureP12Password: password,
    sourceIdOid: '1.2.250.1.999.1.1.8121',
    lps: { id: 'DRIMBOX-TEST', homologationId: 'HOMOLOGATION-TEST' },
    structure: { id: DEMO_STRUCTURE_ID, name: 'Cabinet de radiologie de test' },
  };
  return { sim, xds };
}

