/**
 * Signed submissions per second with the structure's keys on a PKCS#11 token (SoftHSM2) against the same keys in
 * a PKCS#12 file, in one run: each submission is an ITI-41 request built and signed as the outbox does it (XAdES
 * document + VIHF, two RSA-2048 signatures), plus the mutual-TLS handshakes per second with the client key
 * in memory vs through OpenSSL's PKCS#11 engine. Figures are ratios measured side by side (the machine is shared):
 * each contender warmed up, then ROUNDS rounds in turns, and the median rate of each.
 *   npx tsx test/bench/pkcs11-sign-bench.ts [N]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { connect, createSecureContext, type SecureContext } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { FileSigner, tlsCredentialFromPkcs12 } from '../../appliance/src/auth/signer/file-signer.js';
import { Pkcs11Signer } from '../../appliance/src/auth/pkcs11/signer.js';
import { engineSecureContext, tokenTlsCredential } from '../../appliance/src/auth/pkcs11/tls-key.js';
import type { Signer } from '../../appliance/src/auth/signer/signer.js';
import { prepareProvideAndRegister } from '../../appliance/src/xds/client.js';
import { buildProvideAndRegister } from '../../appliance/src/xds/submission.js';
import { vihfSubjectFromReport } from '../../appliance/src/xds/vihf.js';
import { makeTestPki } from '../fixtures/pki/make-test-pki.js';
import { makeKeyToken } from '../peers/cps-token.js';
import { pocKos, sampleContext, sampleReport } from '../unit/xds-helpers.js';
import { printGoal } from './goal.js';
import { eachOf, inTurns } from './turns.js';

const N = Number(process.argv[2] ?? 100);
const ROUNDS = 5;
const work = mkdtempSync(join(tmpdir(), 'drimbox-p11-bench-'));
const pki = makeTestPki(join(work, 'pki'));
const token = makeKeyToken(join(work, 'hsm'), 'BENCH STRUCTURE', '246810', [
  { keyPath: pki.signature.keyPem, certPath: pki.signature.certPem, keyLabel: 'ORG_SIGN', id: 'b1' },
  { keyPath: pki.authClient.keyPem, certPath: pki.authClient.certPem, keyLabel: 'ORG_AUTH_CLI', id: 'b2' },
]);
process.env.SOFTHSM2_CONF = token.env.SOFTHSM2_CONF;

async function submissionsPerSecond(signer: Signer): Promise<number> {
  const context = sampleContext();
  const report = sampleReport();
  const subject = vihfSubjectFromReport(report, context);
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    const built = await buildProvideAndRegister({ report, kos: pocKos(), context, signer });
    await prepareProvideAndRegister(built, subject, context, signer, 'https://dmp.test/repository');
  }
  return N / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** Each contender once to warm up (JIT, first session or context), then `ROUNDS` rounds in turns: the median rate of each. */
async function mediansInTurns<K extends string>(contenders: Record<K, () => Promise<number>>): Promise<Record<K, number>> {
  await inTurns(1, contenders);
  return eachOf(await inTurns(ROUNDS, contenders), (rates) => [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)]!);
}

async function handshakesPerSecond(port: number, secureContext: SecureContext, count: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, secureContext, servername: 'localhost' }, () => {
        if (!socket.authorized) reject(new Error(`server not trusted: ${socket.authorizationError}`));
        socket.end();
        resolve();
      });
      socket.on('error', reject);
    });
  }
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

try {
  const file = FileSigner.fromPkcs12(readFileSync(pki.signature.p12), pki.signature.p12Password);
  const onToken = Pkcs11Signer.open({ module: token.module, token: { label: token.tokenLabel }, keyLabel: 'ORG_SIGN', pin: () => token.pin });
  const { file: fileRate, token: tokenRate } = await mediansInTurns({ file: () => submissionsPerSecond(file), token: () => submissionsPerSecond(onToken) });
  console.log(`signed submissions/s: file ${fileRate.toFixed(1)}, token ${tokenRate.toFixed(1)} (medians of ${ROUNDS} rounds in turns of N=${N}, 2 RSA-2048 signatures each)`);
  // The ratio falls as the rest of a submission gets faster: the token's own cost, per submission, says more.
  console.log(`the token adds ${(1000 / tokenRate - 1000 / fileRate).toFixed(2)} ms per submission (two signatures: SoftHSM2's RSA, the thread-pool hop of an asynchronous C_Sign, the check that the token is still the same)`);
  printGoal('pkcs11 signing rate vs file', tokenRate / fileRate, 0.5, '×');

  let handshakes = 0;
  const server = createServer({ key: readFileSync(pki.server.keyPem), cert: readFileSync(pki.server.certPem), ca: readFileSync(pki.ca.certPem), requestCert: true, rejectUnauthorized: true }, (_req, res) => res.end());
  server.on('secureConnection', (s) => s.authorized && handshakes++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  // One context each, reused for every connection, as the box's agents do.
  const ca = readFileSync(pki.ca.certPem);
  const memory = createSecureContext({ ...tlsCredentialFromPkcs12(readFileSync(pki.authClient.p12), pki.authClient.p12Password), ca, minVersion: 'TLSv1.2' });
  const engine = engineSecureContext(tokenTlsCredential({ module: token.module, token: { label: token.tokenLabel }, keyLabel: 'ORG_AUTH_CLI', pin: token.pin }), { ca, minVersion: 'TLSv1.2' });
  const count = Math.max(20, Math.round(N / 2));
  const { memory: memoryRate, engine: engineRate } = await mediansInTurns({ memory: () => handshakesPerSecond(port, memory, count), engine: () => handshakesPerSecond(port, engine, count) });
  server.close();
  console.log(`mutual-TLS handshakes/s: key in memory ${memoryRate.toFixed(1)}, key on token via engine ${engineRate.toFixed(1)} (medians of ${ROUNDS} rounds in turns of ${count}; ${handshakes} verified by the server)`);
  printGoal('pkcs11 TLS handshake rate vs memory', engineRate / memoryRate, 0.25, '×');
  await onToken.close();
} finally {
  rmSync(work, { recursive: true, force: true });
}
