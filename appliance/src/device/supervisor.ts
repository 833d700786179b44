/**
 * The balena supervisor's local API, with the device's own credentials (BALENA_SUPERVISOR_ADDRESS and
 * BALENA_SUPERVISOR_API_KEY, given to a service labelled io.balena.features.supervisor-api): the update state
 * (`GET /v1/device`) and the box's health as device tags (`PATCH /v2/device/tags`, supervisor ≥ 17.8, which keeps
 * and retries them while offline) — ../shared/reference/appliance-and-fleet.md §3.5, §4.
 */
export interface SupervisorDeviceState {
  status?: string;
  updatePending: boolean;
  updateDownloaded: boolean;
  updateFailed: boolean;
  downloadProgress?: number | null;
}

export interface SupervisorClient {
  deviceState(): Promise<SupervisorDeviceState>;
  setTags(tags: Record<string, string>): Promise<void>;
}

const TIMEOUT_MS = 5_000;

export class SupervisorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SupervisorError';
  }
}

/** The client, when the box runs under balena with the supervisor API granted; undefined otherwise. */
export function supervisorFromEnv(env: NodeJS.ProcessEnv): SupervisorClient | undefined {
  const address = env.BALENA_SUPERVISOR_ADDRESS;
  const apiKey = env.BALENA_SUPERVISOR_API_KEY;
  if (!address || !apiKey) return undefined;
  return createSupervisorClient(address, apiKey);
}

export function createSupervisorClient(address: string, apiKey: string): SupervisorClient {
  const url = (path: string) => {
    const u = new URL(path, address.endsWith('/') ? address : `${address}/`);
    u.searchParams.set('apikey', apiKey);
    return u;
  };
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(url(path), {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      throw new SupervisorError(`supervisor ${method} ${path}: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) throw new SupervisorError(`supervisor ${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    try {
      return text ? (JSON.parse(text) as unknown) : undefined;
    } catch {
      return text;
    }
  };
  return {
    async deviceState() {
      const d = (await call('GET', 'v1/device')) as Record<string, unknown> | undefined;
      if (!d || typeof d !== 'object') throw new SupervisorError('supervisor GET v1/device: not a JSON object');
      return {
        status: typeof d.status === 'string' ? d.status : undefined,
        updatePending: d.update_pending === true,
        updateDownloaded: d.update_downloaded === true,
        updateFailed: d.update_failed === true,
        downloadProgress: typeof d.download_progress === 'number' ? d.download_progress : null,
      };
    },
    async setTags(tags) {
      await call('PATCH', 'v2/device/tags', tags);
    },
  };
}
