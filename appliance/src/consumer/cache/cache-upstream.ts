import { stat } from 'node:fs/promises';
import { DicomwebError } from '../../dicomweb/errors.js';
import type { QidoMatch } from '../../dicomweb/qido-query.js';
import { fileChunks } from '../../dicomweb/streams.js';
import type { ImageUpstream, SearchRequest, UpstreamInstance } from '../../dicomweb/upstream/types.js';
import type { DicomJson, RetrieveTarget } from '../../dicom/model.js';
import type { ImageCache } from './image-cache.js';

/**
 * The image cache as the upstream of a DICOMweb service: the consumer's viewer reads cached studies through the same
 * QIDO/WADO code the source box serves with (dicomweb/). Searches are answered from the cache index; instances
 * are the cached files themselves, pinned (never evicted) while they are being served and never deleted after use.
 */

function firstValue(json: DicomJson, tag: string): unknown {
  return json[tag]?.Value?.[0];
}

/** Text of an element for matching: PN by its alphabetic form, numbers as written. */
function valuesOf(json: DicomJson, tag: string): string[] {
  return (json[tag]?.Value ?? []).map((v) => {
    if (v && typeof v === 'object' && 'Alphabetic' in v) return String((v as { Alphabetic?: unknown }).Alphabetic ?? '');
    return v === null || v === undefined ? '' : String(v);
  });
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

/** QIDO matching (PS3.18 §8.3.4, PS3.4 C.2.2.2): UID lists, wildcards, date/time ranges, single values. */
export function matches(json: DicomJson, m: QidoMatch): boolean {
  const values = valuesOf(json, m.attribute.tag);
  const wanted = m.value;
  if (wanted === '' || wanted === '*') return true;
  if (m.attribute.vr === 'UI') {
    const list = wanted.split(',').map((s) => s.trim());
    return values.some((v) => list.includes(v));
  }
  if ((m.attribute.vr === 'DA' || m.attribute.vr === 'TM' || m.attribute.vr === 'DT') && wanted.includes('-')) {
    const [from, to] = wanted.split('-');
    return values.some((v) => (!from || v >= from) && (!to || v <= to));
  }
  if (/[*?]/.test(wanted)) {
    const re = wildcard(wanted);
    return values.some((v) => re.test(v));
  }
  return values.some((v) => (m.attribute.vr === 'PN' ? v.toLowerCase() === wanted.toLowerCase() : v === wanted));
}

export function createCacheUpstream(cache: ImageCache): ImageUpstream {
  function seriesRows(studyUid: string): DicomJson[] {
    return cache
      .seriesOf(studyUid)
      .filter((s) => s.instances > 0)
      .map((s) => ({ ...(JSON.parse(s.seriesJson) as DicomJson), '00201209': { vr: 'IS', Value: [s.instances] } }));
  }

  function studyRow(studyUid: string): DicomJson | undefined {
    const json = cache.studyJson(studyUid);
    const series = seriesRows(studyUid);
    if (!json || series.length === 0) return undefined;
    const modalities = [...new Set(series.map((s) => firstValue(s, '00080060')).filter((m): m is string => typeof m === 'string'))];
    const instances = series.reduce((n, s) => n + Number(firstValue(s, '00201209') ?? 0), 0);
    return {
      ...(JSON.parse(json) as DicomJson),
      '00080061': { vr: 'CS', Value: modalities },
      '00201206': { vr: 'IS', Value: [series.length] },
      '00201208': { vr: 'IS', Value: [instances] },
    };
  }

  async function* search(request: SearchRequest, signal: AbortSignal): AsyncGenerator<DicomJson> {
    const keep = (json: DicomJson) => request.query.matches.every((m) => matches(json, m));
    const studies = request.studyInstanceUid ? [request.studyInstanceUid] : cache.studyUids();
    for (const st of studies) {
      if (signal.aborted) return;
      if (request.level === 'STUDY') {
        const json = studyRow(st);
        if (json && keep(json)) yield json;
      } else if (request.level === 'SERIES') {
        for (const s of seriesRows(st)) if (keep(s)) yield s;
      } else {
        for (const row of cache.instances(st, request.seriesInstanceUid)) {
          const json: DicomJson = {
            ...(JSON.parse(row.instanceJson) as DicomJson),
            '0020000D': { vr: 'UI', Value: [row.studyUid] },
            '0020000E': { vr: 'UI', Value: [row.seriesUid] },
          };
          if (keep(json)) yield json;
        }
      }
    }
  }

  async function* instances(target: RetrieveTarget, signal: AbortSignal): AsyncGenerator<UpstreamInstance> {
    const rows = cache.instances(
      target.studyInstanceUid,
      target.level === 'STUDY' ? undefined : target.seriesInstanceUid,
      target.level === 'IMAGE' ? target.sopInstanceUid : undefined,
    );
    if (rows.length === 0) throw new DicomwebError(404, 'not in the local cache');
    const release = cache.pin(target.studyInstanceUid);
    cache.touch(target.studyInstanceUid);
    try {
      for (const row of rows) {
        if (signal.aborted) return;
        const path = cache.pathOf(row.studyUid, row.seriesUid, row.sopInstanceUid);
        // Lost between the index read and now: skip it rather than fail the whole answer.
        const size = await stat(path).then((s) => s.size, () => undefined);
        if (size === undefined) continue;
        yield {
          transferSyntaxUid: row.transferSyntaxUid,
          sopInstanceUid: row.sopInstanceUid,
          path,
          size,
          body: () => fileChunks(path),
          // The file belongs to the cache: serving it never deletes it.
          dispose: async () => undefined,
        };
      }
    } finally {
      release();
    }
  }

  return { description: 'consumer image cache', searchIsPaged: false, search, instances };
}
