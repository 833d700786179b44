import type { X509Certificate } from 'node:crypto';
import { parseDistinguishedName } from '../whitelist/dn.js';

/**
 * A CPS holder as the card's certificate names them. IGC-Santé PS subject (cps-card-pkcs11.md §3): C=FR,
 * title=<profession label>, then one multi-valued RDN CN=<national id> + SN=<surname> + GN=<given name>; the
 * national id is `8` + the 11-digit RPPS, or `0` + ADELI for ADELI-only holders. Node prints the multi-valued RDN
 * as "GN=… + SN=… + CN=…", which the DN parser reads attribute by attribute.
 */
export interface CardHolder {
  nationalId: string;
  idType: 'RPPS' | 'ADELI';
  /** The RPPS number (national id without its leading 8), when it is one. */
  rpps?: string;
  surname: string;
  givenName: string;
  profession: string;
  issuer: string;
  notAfter: string;
}

export class NotACpsCertificateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotACpsCertificateError';
  }
}

export function cardHolderFrom(cert: X509Certificate): CardHolder {
  const subject = parseDistinguishedName(cert.subject);
  const get = (type: string) => subject.find((a) => a.type === type)?.value ?? '';
  const nationalId = get('CN');
  let idType: CardHolder['idType'];
  if (/^8\d{11}$/.test(nationalId)) idType = 'RPPS';
  else if (/^0[0-9A-Z]{9}$/.test(nationalId)) idType = 'ADELI';
  else throw new NotACpsCertificateError(`certificate subject CN "${nationalId}" is not a national health professional id (8+RPPS or 0+ADELI)`);
  const issuer = parseDistinguishedName(cert.issuer).find((a) => a.type === 'CN')?.value ?? '';
  return {
    nationalId,
    idType,
    ...(idType === 'RPPS' ? { rpps: nationalId.slice(1) } : {}),
    surname: get('SN'),
    givenName: get('GN') || get('GIVENNAME'),
    profession: get('TITLE'),
    issuer,
    notAfter: new Date(cert.validTo).toISOString(),
  };
}
