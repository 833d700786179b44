// Standalone PSC simulator: `npx tsx test/peers/psc-sim/main.ts --port N [--ttl S] [--client id:secret:redirectUri]`.
// Prints one JSON line on stdout when ready, then serves until SIGINT/SIGTERM.
import { parseArgs } from 'node:util';
import { startPscSimulator, type SimulatorClient } from './server.js';

function parseClient(spec: string): SimulatorClient {
  // id:secret:redirectUri (the redirect URI itself contains colons, so split on the first two only)
  const first = spec.indexOf(':');
  const second = spec.indexOf(':', first + 1);
  if (first < 1 || second < 0) throw new Error(`--client "${spec}": expected id:secret:redirectUri`);
  return { clientId: spec.slice(0, first), clientSecret: spec.slice(first + 1, second), redirectUris: [spec.slice(second + 1)] };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      ttl: { type: 'string' },
      client: { type: 'string', multiple: true },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port ${values.port}: not a port number`);
  const sim = await startPscSimulator({
    port,
    accessTokenTtlSeconds: values.ttl ? Number(values.ttl) : undefined,
    clients: values.client?.map(parseClient),
  });
  process.stdout.write(
    JSON.stringify({
      ready: true,
      issuer: sim.issuer,
      port: sim.port,
      clients: sim.clients.map((c) => ({ clientId: c.clientId, redirectUris: c.redirectUris })),
      users: sim.professionals.map((p) => p.id),
      password: sim.testPassword,
      mint: `http://127.0.0.1:${sim.port}/_sim/token`,
    }) + '\n',
  );
  const stop = () => void sim.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`psc-sim: ${(err as Error).message}\n`);
  process.exit(1);
});
