import { z } from 'zod';

/**
 * The `pkcs11` section of the box configuration (this module depends on zod only): keys held by PKCS#11 tokens
 * instead of PKCS#12 files, and the CPS card reader of the box.
 */
const label = z.string().max(64);

export const pkcs11ConfigSchema = z.object({
  /**
   * The structure's keys on a token (an HSM, a USB token) instead of xds.*P12File. Empty module: the PKCS#12 files.
   * TLS uses OpenSSL's PKCS#11 engine (Debian libengine-pkcs11-openssl); signing uses the module directly.
   */
  structure: z
    .object({
      /** The token's PKCS#11 module (shared object path). */
      module: z.string().default(''),
      /** Which token: its label and/or serial number (one of them at least when a module is set). */
      tokenLabel: label.default(''),
      tokenSerial: label.default(''),
      /** The token's user PIN; give it as the environment variable DRIMBOX_PKCS11_STRUCTURE_PIN, not in the file. */
      pin: z.string().default(''),
      /** CKA_LABEL of the key for the DMP's mutual TLS (the ORG AUTH_CLI key); empty: xds.tlsP12File. */
      tlsKeyLabel: label.default(''),
      /** CKA_LABEL of the key signing the VIHF and XAdES; empty: xds.signatureP12File. */
      signatureKeyLabel: label.default(''),
      /** OpenSSL's PKCS#11 engine; empty: Debian's engines-3/pkcs11.so for this architecture. */
      engine: z.string().default(''),
    })
    .prefault({}),
  /** CPS cards in the box's reader: professional login at the touch screen. */
  card: z
    .object({
      /** The reader's PKCS#11 module: OpenSC's opensc-pkcs11.so on ARM boxes, the Cryptolib CPS on x86_64. Empty: no card. */
      module: z.string().default(''),
      /** Insertion and removal are polled (slot events are unreliable on these modules). */
      pollMs: z.number().int().min(200).max(10_000).default(1_000),
      /** Wrong PINs in a row the box lets through for one card before refusing it for pinLockMinutes (a CPS locks at 3). */
      maxPinFailures: z.number().int().min(1).max(10).default(3),
      pinLockMinutes: z.number().int().min(1).max(24 * 60).default(15),
      /**
       * Direct authentication mode (the practice's choice): DMP transactions carry the VIHF of the professional logged
       * in with their card at the box (Authentification_Mode DIRECTE), signed by the card's CPS_PRIV_SIG — portal
       * queries of that professional, and the outbox's publications, which wait while no card is logged in.
       * false: the structure's certificate signs (INDIRECTE). The DMP's TLS stays the structure's ORG certificate.
       */
      directMode: z.boolean().default(false),
    })
    .prefault({}),
});

export type Pkcs11Config = z.infer<typeof pkcs11ConfigSchema>;
