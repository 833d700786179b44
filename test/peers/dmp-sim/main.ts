import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startDmpSimulator } from './simulator.js';

/**
 * Standalone DMP simulator for the demo:
 *   npx tsx test/peers/dmp-sim/main.ts --data DIR [--port N] [--admin-port N] [--structure-id OU]
 *        [--patients INS,INS] [--faults JSON|@file] [--ca-cert PEM --ca-key PEM]
 * Prints one JSON line on stdout when ready (URLs, CA path, the box's test certificates), then
 * runs until SIGINT/SIGTERM.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'admin-port': { type: 'string' },
      'structure-id': { type: 'string', default: '499700367909006' },
      patients: { type: 'string' },
      faults: { type: 'string' },
      'ca-cert': { type: 'string' },
      'ca-key': { type: 'string' },
    },
    strict: true,
  });
  if (!values.data) {
    process.stderr.write('usage: main.ts --data DIR [--port N] [--admin-port N] [--structure-id OU] [--patients INS,...] [--faults JSON|@file] [--ca-cert PEM --ca-key PEM]\n');
    return 2;
  }
  const dataDir = resolve(values.data);
  const port = Number(values.port);
  const faultsText = values.faults?.startsWith('@') ? readFileSync(values.faults.slice(1), 'utf8') : values.faults;
  const sim = await startDmpSimulator({
    dataDir,
    port,
    host: values.host,
    adminPort: values['admin-port'] !== undefined ? Number(values['admin-port']) : undefined,
    knownPatients: values.patients?.split(',').map((p) => p.trim()).filter(Boolean),
    faults: faultsText ? JSON.parse(faultsText) : undefined,
    ca: values['ca-cert'] && values['ca-key'] ? { certPem: readFileSync(values['ca-cert'], 'utf8'), keyPem: readFileSync(values['ca-key'], 'utf8') } : undefined,
  });
  const pki = join(dataDir, 'pki');
  const passwordFile = join(pki, 'box-p12-password.txt');
  if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(12).toString('hex'), { mode: 0o600 });
  const password = readFileSync(passwordFile, 'utf8').trim();
  const ou = values['structure-id'];
  const issue = (name: string, usage: 'client' | 'signature') =>
    existsSync(join(pki, `${name}.p12`))
      ? { certPath: join(pki, `${name}.pem`), keyPath: join(pki, `${name}.key`), p12Path: join(pki, `${name}.p12`) }
      : sim.issueCertificate({ name, usage, subject: `/C=FR/O=DRIMbox demo/OU=${ou}/CN=DRIMbox`, p12Password: password });
  const client = issue('box-auth-client', 'client');
  const signature = issue('box-signature', 'signature');
  const ready = {
    event: 'ready', url: sim.url, registryUrl: sim.registryUrl, repositoryUrl: sim.repositoryUrl, port: sim.port, pid: process.pid,
    caCertPath: sim.caCertPath, adminUrl: sim.adminUrl, repositoryUniqueId: sim.repositoryUniqueId,
    box: {
      clientCertPath: client.certPath, clientKeyPath: client.keyPath, clientP12Path: client.p12Path,
      signatureCertPath: signature.certPath, signatureKeyPath: signature.keyPath, signatureP12Path: signature.p12Path, p12PasswordFile: passwordFile,
    },
  };
  process.stdout.write(JSON.stringify(ready) + '\n');
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await sim.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`dmp-sim: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
