import { request } from 'node:https';
import { parseMediaType, parseMultipart } from '../mime.js';
import { NS, attr, descendants, parseXml, text } from '../xml.js';
import type { HttpBody } from './requests.js';

export interface Tls {
  ca: string;
  cert?: string;
  key?: string;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  elapsedMs: number;
}

/** POSTs over HTTPS with the given client certificate; rejects on transport errors and timeouts. */
export function post(url: string, tls: Tls, message: HttpBody, timeoutMs = 10_000): Promise<HttpResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST', ca: tls.ca, cert: tls.cert, key: tls.key, agent: false,
      headers: { 'content-type': message.contentType, 'content-length': String(message.body.length) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), elapsedMs: Date.now() - started }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(message.body);
  });
}

export interface SoapAnswer {
  envelope: Document;
  /** RegistryResponse / AdhocQueryResponse status, without the URN prefix. */
  status?: string;
  errors: { code: string; context: string; severity: string }[];
  fault?: { code: string; subcode?: string; reason: string };
  attachments: Map<string, Buffer>;
}

/** Reads a SOAP or MTOM answer of the simulator. */
export function readAnswer(result: HttpResult): SoapAnswer {
  const media = parseMediaType(String(result.headers['content-type']), 'answer');
  let xml: string;
  const attachments = new Map<string, Buffer>();
  if (media.type === 'multipart/related') {
    const parts = parseMultipart(result.body, media.params.boundary ?? '', 'answer').parts;
    const start = (media.params.start ?? '').replace(/^<|>$/g, '');
    xml = parts.find((p) => p.contentId === start)!.body.toString('utf8');
    for (const p of parts) if (p.contentId && p.contentId !== start) attachments.set(p.contentId, p.body);
  } else xml = result.body.toString('utf8');
  const envelope = parseXml(xml, 'answer');
  const statusHolder = [...descendants(envelope, NS.rs, 'RegistryResponse'), ...descendants(envelope, NS.query, 'AdhocQueryResponse')][0];
  const fault = descendants(envelope, NS.soap12, 'Fault')[0];
  return {
    envelope,
    status: statusHolder ? attr(statusHolder, 'status')?.replace(/^.*:/, '') : undefined,
    errors: descendants(envelope, NS.rs, 'RegistryError').map((e) => ({
      code: attr(e, 'errorCode') ?? '', context: attr(e, 'codeContext') ?? '', severity: (attr(e, 'severity') ?? '').replace(/^.*:/, ''),
    })),
    fault: fault
      ? {
          code: text(descendants(fault, NS.soap12, 'Value')[0]),
          subcode: descendants(fault, NS.soap12, 'Value')[1] ? text(descendants(fault, NS.soap12, 'Value')[1]) : undefined,
          reason: text(descendants(fault, NS.soap12, 'Text')[0]),
        }
      : undefined,
    attachments,
  };
}
