import type { Config } from '../config/schema.js';
import type { StoreScp } from '../dimse/index.js';
import type { SetupProbes } from './probe-bindings.js';
import { boxDeclaration, echoPacs, reverseTest } from './probes/pacs-probe.js';
import { qidoProbe } from './probes/dicomweb-probe.js';
import { pscDiscovery } from './probes/psc-probe.js';
import { dmpConnectionTest } from './probes/dmp-probe.js';
import { inspectPkcs12, listCertificateFiles } from './probes/pkcs12-inspect.js';
import { networkFacts } from './probes/network-facts.js';

const HTTP_PROBE_TIMEOUT_MS = 8_000;

/** The wizard's live tests, bound to the running box: its SCP (the C-MOVE destination), data folder, USB mount. */
export function bindSetupProbes(box: { config: Config; scp: StoreScp }): SetupProbes {
  const { config, scp } = box;
  return {
    async network() {
      const n = await networkFacts();
      return {
        hostname: n.hostname,
        addresses: n.interfaces.flatMap((i) => i.addresses.map((a) => `${a.cidr} (${i.name})`)),
        gateway: n.defaultGateway === 'unknown' ? '' : n.defaultGateway,
        dns: n.dnsServers === 'unknown' ? [] : n.dnsServers,
        now: n.clock.now,
        timezone: n.clock.timezone,
        ntpSynchronized: n.clock.ntpSynchronized,
      };
    },
    echo: (pacs, boxAeTitle) => echoPacs(pacs, boxAeTitle, config.dimse),
    reverse: (pacs, boxAeTitle) => reverseTest({ pacs, boxAeTitle, scp, dimse: config.dimse, dataDir: config.dataDir }),
    declaration: async (boxAeTitle, pacsHost) => {
      const d = await boxDeclaration({ boxAeTitle, dimsePort: scp.port, pacsHost });
      return { aeTitle: d.aeTitle, address: d.address, port: d.port };
    },
    qido: (url) => qidoProbe(url, { timeoutMs: HTTP_PROBE_TIMEOUT_MS }),
    pkcs12: (input) => inspectPkcs12(input),
    dmp: (xds) => dmpConnectionTest(xds, config.pkcs11.structure, { timeoutMs: HTTP_PROBE_TIMEOUT_MS }),
    psc: (issuer) => pscDiscovery(issuer, { timeoutMs: HTTP_PROBE_TIMEOUT_MS }),
    usbFiles: async () => (await listCertificateFiles(config.setup.usbDir)).map(({ name, size }) => ({ name, size })),
  };
}
