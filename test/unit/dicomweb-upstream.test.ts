import { describe, expect, it } from 'vitest';
import { createDicomwebUpstream } from '../../appliance/src/dicomweb/upstream/dicomweb.js';
import type { QidoQuery } from '../../appliance/src/dicomweb/qido-query.js';

/** The PACS DICOMweb upstream against a scripted fetch: status mapping and timeouts, no network. */

const query: QidoQuery = { matches: [], includeAll: false, includeFields: [], offset: 0, fuzzyMatching: false };
const never = (_url: RequestInfo | URL, init?: RequestInit) =>
  new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))));

async function drain(it: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('PACS DICOMweb upstream', () => {
  it('maps PACS answers to statuses a caller may see, without PACS details', async () => {
    const cases: [() => Response, number][] = [
      [() => new Response('nope', { status: 404 }), 404],
      [() => new Response('internal', { status: 500 }), 502],
      [() => new Response('no', { status: 401 }), 502],
      [() => {
        throw new TypeError('fetch failed: ECONNREFUSED 10.1.2.3:8042');
      }, 502],
    ];
    for (const [answer, status] of cases) {
      const upstream = createDicomwebUpstream({ baseUrl: 'http://pacs/dicom-web', fetch: async () => answer() });
      const err = await drain(upstream.search({ level: 'STUDY', query }, new AbortController().signal)).catch((e: unknown) => e);
      expect(err).toMatchObject({ status });
      expect((err as Error).message).not.toMatch(/10\.1\.2\.3|internal|pacs\//);
    }
  });

  it('gives up with 504 when the PACS does not answer in time', async () => {
    const upstream = createDicomwebUpstream({ baseUrl: 'http://pacs/dicom-web', fetch: never, responseTimeoutMs: 50 });
    await expect(drain(upstream.search({ level: 'STUDY', query }, new AbortController().signal))).rejects.toMatchObject({ status: 504 });
  });

  it('fails a stalled body with 504 after the idle limit, not a total deadline', async () => {
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        pulls++;
        if (pulls <= 3) {
          await new Promise((r) => setTimeout(r, 40)); // slow but alive: 3 × 40 ms > the 60 ms idle limit in total
          controller.enqueue(new TextEncoder().encode(pulls === 1 ? '[{"0020000D":{"vr":"UI","Value":["1.2"]}}' : ' '));
        } else await new Promise(() => undefined); // then silence
      },
    });
    const upstream = createDicomwebUpstream({ baseUrl: 'http://pacs/dicom-web', fetch: async () => new Response(body, { headers: { 'content-type': 'application/dicom+json' } }), idleTimeoutMs: 60 });
    await expect(drain(upstream.search({ level: 'STUDY', query }, new AbortController().signal))).rejects.toMatchObject({ status: 504 });
    expect(pulls).toBeGreaterThanOrEqual(4);
  });

  it('passes the caller abort to the PACS request', async () => {
    let seen: AbortSignal | undefined;
    const upstream = createDicomwebUpstream({ baseUrl: 'http://pacs/dicom-web', fetch: (url, init) => ((seen = init?.signal ?? undefined), never(url, init)) });
    const client = new AbortController();
    const pending = drain(upstream.instances({ level: 'STUDY', studyInstanceUid: '1.2' }, client.signal));
    client.abort();
    await expect(pending).rejects.toThrow();
    expect(seen?.aborted).toBe(true);
  });

  it('sends credentials of the configured URL as Basic authorization, never in the URL', async () => {
    const seen: { url: string; auth: string | null }[] = [];
    const upstream = createDicomwebUpstream({
      baseUrl: 'http://box%40site:s3cr%3At@pacs:8042/dicom-web',
      fetch: async (url, init) => {
        seen.push({ url: String(url), auth: new Headers(init?.headers).get('authorization') });
        return new Response('[]', { headers: { 'content-type': 'application/dicom+json' } });
      },
    });
    await drain(upstream.search({ level: 'STUDY', query }, new AbortController().signal));
    expect(seen).toEqual([{ url: 'http://pacs:8042/dicom-web/studies', auth: `Basic ${Buffer.from('box@site:s3cr:t').toString('base64')}` }]);
    expect(upstream.description).not.toContain('s3cr');
  });

  it('maps only its own URLs to paths below the DICOMweb root', () => {
    const upstream = createDicomwebUpstream({ baseUrl: 'http://pacs:8042/dicom-web/' });
    expect(upstream.relativePath!('http://pacs:8042/dicom-web/studies/1/series/2/instances/3/bulk/7fe00010')).toBe('studies/1/series/2/instances/3/bulk/7fe00010');
    // The PACS may name itself by another host (its own Host setting): the path decides.
    expect(upstream.relativePath!('http://127.0.0.1:8042/dicom-web/studies/1.2/series/3')).toBe('studies/1.2/series/3');
    expect(upstream.relativePath!('studies/1.2')).toBe('studies/1.2');
    expect(upstream.relativePath!('http://pacs:8042/dicom-webX/studies/1')).toBeUndefined();
    expect(upstream.relativePath!('http://pacs:8042/other/studies/1')).toBeUndefined();
    expect(upstream.relativePath!('http://pacs:8042/dicom-web/system')).toBeUndefined();
    expect(upstream.relativePath!('not a url at all ::')).toBeUndefined();
  });
});
