import { getSdk } from 'balena-sdk';

export type Balena = ReturnType<typeof getSdk>;

export class FleetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FleetError';
  }
}

/** The SDK on the vendor's token (BALENA_API_KEY), against BALENA_API_URL or balenaCloud; no token file on disk. */
export async function connect(env: NodeJS.ProcessEnv): Promise<Balena> {
  const token = env.BALENA_API_KEY;
  if (!token) throw new FleetError('BALENA_API_KEY is not set: create one with `balena api-key generate drimbox-fleet`');
  const balena = getSdk({ apiUrl: env.BALENA_API_URL ?? 'https://api.balena-cloud.com/', dataDirectory: false });
  await balena.auth.loginWithToken(token);
  let actor: unknown;
  try {
    actor = await balena.auth.whoami();
  } catch (err) {
    throw new FleetError(`the balena API refused the token (BALENA_API_KEY): ${describe(err)}`);
  }
  // The SDK answers a refused token (401) with no actor rather than an error.
  if (!actor) throw new FleetError('the balena API refused the token (BALENA_API_KEY): not logged in');
  return balena;
}

/** One line for an SDK or API error: its HTTP status and what the API said. */
export function describe(err: unknown): string {
  const e = err as { statusCode?: number; message?: string; body?: unknown };
  const status = e.statusCode ? `HTTP ${e.statusCode}: ` : '';
  return `${status}${e.message ?? String(err)}`.split('\n')[0]!;
}
