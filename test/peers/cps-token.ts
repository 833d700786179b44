/**
 * A CPS card emulated on a SoftHSM2 token, for the PKCS#11 tests (issue 10): a test CA named like IGC-Santé's test
 * CAs, and a professional's two key pairs and certificates imported under the card's labels and CKA_IDs —
 * `CPS_PRIV_SIG` / "Certificat de Signature CPS" (nonRepudiation) and `CPS_PRIV_AUT` / "Certificat
 * d'Authentification CPS" (digitalSignature, clientAuth) — with the CPS subject: C=FR, title=<profession>, then one
 * multi-valued RDN CN=<8+RPPS> + SN + GN (../shared/reference/cps-card-pkcs11.md §2.2, §3, §5: the recipe verified
 * there). Its own SoftHSM2 configuration: never the system's token directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
/** The card's application identifier (ASIP CPS) ‖ key number, as OpenSC presents CKA_ID on a real CPS3. */
export const CPS_SIG_ID = 'e828bd080f8025000001ff001001';
export const CPS_AUT_ID = 'e828bd080f8025000001ff001002';

export interface CpsHolder {
  /** `8` + 11-digit RPPS; test ids start 8997. */
  nationalId: string;
  surname: string;
  givenName: string;
  /** Profession label, as the certificate's title. */
  profession: string;
}

export interface CpsToken {
  module: string;
  tokenLabel: string;
  pin: string;
  soPin: string;
  /** SOFTHSM2_CONF for every process that opens the token. */
  env: { SOFTHSM2_CONF: string };
  caCertPath: string;
  signCertPath: string;
  authCertPath: string;
  /**
   * PEM copy of the authentication key, for what stands in for a workstation's browser and its card (Playwright's
   * client certificate); the box itself only ever uses the token.
   */
  authKeyPath: string;
}

export const TEST_HOLDER: CpsHolder = { nationalId: '899700367917', surname: 'DOC0036791', givenName: 'KIT', profession: 'Médecin' };

const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) => execFileSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** The SoftHSM2 configuration of `dir` (made once): every token made in `dir` lives in `dir/tokens`. */
export function softhsmConf(dir: string): string {
  mkdirSync(join(dir, 'tokens'), { recursive: true });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  return conf;
}

/** Several cards may be made in one `dir` (one SoftHSM2 configuration: a process loads the module once). */
export function makeCpsToken(dir: string, holder: CpsHolder = TEST_HOLDER, pin = '1234'): CpsToken {
  const conf = softhsmConf(dir);
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  mkdirSync(join(dir, holder.nationalId), { recursive: true });
  const f = (name: string) => join(dir, holder.nationalId, name);

  writeFileSync(
    f('ca.cnf'),
    [
      '[req]', 'distinguished_name = dn', 'prompt = no', 'string_mask = utf8only', 'utf8 = yes',
      '[dn]', 'C = FR', 'O = ASIP-SANTE', '0.OU = 0002 187512751', '1.OU = IGC-SANTE TEST', 'CN = TEST AC IGC-SANTE FORT PERSONNES (EMULATION)',
      '[v3ca]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign', 'subjectKeyIdentifier = hash',
    ].join('\n') + '\n',
  );
  run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '3650', '-config', f('ca.cnf'), '-extensions', 'v3ca']);
  writeFileSync(
    f('ps.cnf'),
    [
      '[req]', 'distinguished_name = dn', 'prompt = no', 'string_mask = utf8only', 'utf8 = yes',
      // One multi-valued RDN CN + SN + GN, as on the card ('+' prefix: same RDN as the line before).
      '[dn]', 'C = FR', `title = ${holder.profession}`, `CN = ${holder.nationalId}`, `+SN = ${holder.surname}`, `+GN = ${holder.givenName}`,
      '[auth]', 'keyUsage = critical,digitalSignature', 'extendedKeyUsage = clientAuth', 'authorityKeyIdentifier = keyid',
      '[sign]', 'keyUsage = critical,nonRepudiation', 'authorityKeyIdentifier = keyid',
    ].join('\n') + '\n',
  );
  for (const use of ['auth', 'sign']) {
    run('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${use}.key`), '-out', f(`${use}.csr`), '-config', f('ps.cnf')]);
    run('openssl', ['x509', '-req', '-in', f(`${use}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '1095', '-sha256', '-extfile', f('ps.cnf'), '-extensions', use, '-out', f(`${use}.crt`)]);
    run('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', f(`${use}.key`), '-outform', 'DER', '-out', f(`${use}.key.der`)]);
    run('openssl', ['x509', '-in', f(`${use}.crt`), '-outform', 'DER', '-out', f(`${use}.der`)]);
  }

  const tokenLabel = `CPS-EMU ${holder.nationalId.slice(0, 10)}`;
  const soPin = '87654321';
  run('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--so-pin', soPin, '--pin', pin], env);
  const tool = ['--module', SOFTHSM_MODULE, '--token-label', tokenLabel, '--login', '--pin', pin];
  const objects: [string, string, string, string][] = [
    [f('sign.key.der'), 'privkey', CPS_SIG_ID, 'CPS_PRIV_SIG'],
    [f('sign.der'), 'cert', CPS_SIG_ID, 'Certificat de Signature CPS'],
    [f('auth.key.der'), 'privkey', CPS_AUT_ID, 'CPS_PRIV_AUT'],
    [f('auth.der'), 'cert', CPS_AUT_ID, "Certificat d'Authentification CPS"],
  ];
  for (const [file, type, id, label] of objects) {
    run('pkcs11-tool', [...tool, '--write-object', file, '--type', type, '--id', id, '--label', label, ...(type === 'privkey' ? ['--usage-sign'] : [])], env);
  }
  return { module: SOFTHSM_MODULE, tokenLabel, pin, soPin, env: { SOFTHSM2_CONF: conf }, caCertPath: f('ca.crt'), signCertPath: f('sign.crt'), authCertPath: f('auth.crt'), authKeyPath: f('auth.key') };
}

export interface KeyToImport {
  /** PEM private key and certificate files. */
  keyPath: string;
  certPath: string;
  keyLabel: string;
  /** Certificate label; default: the key's (what the TLS engine pairs the certificate by). */
  certLabel?: string;
  /** CKA_ID (hex) pairing key and certificate. */
  id: string;
}

/**
 * A structure's token (an HSM or USB token standing in): the given PEM keys and certificates imported under their
 * labels, in `dir`'s SoftHSM2 configuration. Returns the token's label and the SOFTHSM2_CONF to use.
 */
export function makeKeyToken(dir: string, tokenLabel: string, pin: string, keys: KeyToImport[]): { module: string; tokenLabel: string; pin: string; env: { SOFTHSM2_CONF: string } } {
  const conf = softhsmConf(dir);
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  run('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--so-pin', '87654321', '--pin', pin], env);
  const tool = ['--module', SOFTHSM_MODULE, '--token-label', tokenLabel, '--login', '--pin', pin];
  for (const [i, k] of keys.entries()) {
    const keyDer = join(dir, `${tokenLabel.replace(/\W+/g, '_')}-${i}.key.der`);
    const certDer = join(dir, `${tokenLabel.replace(/\W+/g, '_')}-${i}.crt.der`);
    run('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', k.keyPath, '-outform', 'DER', '-out', keyDer]);
    run('openssl', ['x509', '-in', k.certPath, '-outform', 'DER', '-out', certDer]);
    run('pkcs11-tool', [...tool, '--write-object', keyDer, '--type', 'privkey', '--id', k.id, '--label', k.keyLabel, '--usage-sign'], env);
    run('pkcs11-tool', [...tool, '--write-object', certDer, '--type', 'cert', '--id', k.id, '--label', k.certLabel ?? k.keyLabel], env);
  }
  return { module: SOFTHSM_MODULE, tokenLabel, pin, env: { SOFTHSM2_CONF: conf } };
}

// `npx tsx test/peers/cps-token.ts DIR`: makes the emulated card in DIR and prints what opens it (SOFTHSM2_CONF,
// token label, PIN) — to try `drimbox card info` or `pkcs11-tool` by hand.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: npx tsx test/peers/cps-token.ts DIR\n');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(makeCpsToken(dir), null, 2) + '\n');
}
