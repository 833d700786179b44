import { z } from 'zod';

const port = z.number().int().min(0).max(65535);

/** The practice's side of the box: RIS HTTP intake, status, setup (never on the public listener). */
export const lanConfigSchema = z.object({
  host: z.string().min(1).default('0.0.0.0'),
  /** LAN listener: TLS with the box's certificate (http.tls) when one is set. */
  port: port.default(8443),
});

/** The touch screen's listener: always bound to 127.0.0.1, plain HTTP (nothing leaves the box). */
export const kioskConfigSchema = z.object({
  port: port.default(8088),
});

/** How the RIS proves who it is when it posts reports over HTTP (MLLP has its own address allow-list). */
export const risConfigSchema = z.object({
  /**
   * Bearer token the RIS sends (`Authorization: Bearer …`) with `POST /api/source/reports`; at least 32
   * characters. Empty: HTTP report intake is closed (MLLP only).
   */
  httpToken: z.union([z.literal(''), z.string().min(32, 'ris.httpToken: at least 32 characters')]).default(''),
  /** Addresses or CIDR blocks the RIS connects from, over MLLP and HTTP (empty: any on the LAN). */
  allowedAddresses: z.array(z.string().min(1)).default([]),
});
