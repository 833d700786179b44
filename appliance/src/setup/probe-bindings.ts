import type { Config } from '../config/schema.js';

export interface PacsAddress {
  aeTitle: string;
  host: string;
  port: number;
}

/** The live tests the wizard runs, bound to the running box (its SCP, its data folder): see setup/probes/. */
/** The network and clock as the wizard shows them. */
export interface NetworkView {
  hostname: string;
  addresses: string[];
  gateway: string;
  dns: string[];
  now: string;
  timezone: string;
  ntpSynchronized: boolean | 'unknown';
}

export interface SetupProbes {
  network(): Promise<NetworkView>;
  echo(pacs: PacsAddress, boxAeTitle: string): Promise<unknown>;
  reverse(pacs: PacsAddress, boxAeTitle: string): Promise<unknown>;
  declaration(boxAeTitle: string, pacsHost: string): Promise<{ aeTitle: string; address: string; port: number }>;
  qido(url: string): Promise<unknown>;
  pkcs12(input: { file: string; password: string; caFile?: string }): Promise<unknown>;
  dmp(xds: Config['xds']): Promise<unknown>;
  psc(issuer: string): Promise<unknown>;
  usbFiles(): Promise<{ name: string; size: number }[]>;
}
