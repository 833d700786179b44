import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { NS, descendants, serialize } from './xml.js';

/** Which schema validates which body element (the shared OASIS ebRS 3.0 and IHE XDS.b schemas). */
const SCHEMA_FOR: Record<string, string> = {
  [`{${NS.xdsb}}ProvideAndRegisterDocumentSetRequest`]: 'IHE/XDS.b_DocumentRepositoryMTOM.xsd',
  [`{${NS.xdsb}}RetrieveDocumentSetRequest`]: 'IHE/XDS.b_DocumentRepositoryMTOM.xsd',
  [`{${NS.xdsb}}RetrieveDocumentSetResponse`]: 'IHE/XDS.b_DocumentRepositoryMTOM.xsd',
  [`{${NS.query}}AdhocQueryRequest`]: 'ebRS/query.xsd',
  [`{${NS.query}}AdhocQueryResponse`]: 'ebRS/query.xsd',
  [`{${NS.lcm}}SubmitObjectsRequest`]: 'ebRS/lcm.xsd',
  [`{${NS.rs}}RegistryResponse`]: 'ebRS/rs.xsd',
};

export interface SchemaResult {
  valid: boolean;
  schema: string;
  /** xmllint's messages, "line N: ..." relative to the validated element. */
  errors: string[];
}

/**
 * Validates one element against its schema with Debian's xmllint (libxml2), without network and
 * without entity substitution. XOP includes are emptied first: after XOP decoding an MTOM Document
 * element holds base64 text, and an empty xs:base64Binary is valid.
 */
export async function validateElement(element: Element, schemaDir: string): Promise<SchemaResult> {
  const key = `{${element.namespaceURI ?? ''}}${element.localName}`;
  const schema = SCHEMA_FOR[key];
  if (!schema) return { valid: false, schema: '(none)', errors: [`no schema is known for element ${key}`] };
  const copy = element.cloneNode(true) as Element;
  for (const include of descendants(copy, NS.xop, 'Include')) include.parentNode?.removeChild(include);
  const xml = serialize(copy);
  const { code, stderr } = await run('xmllint', ['--noout', '--nonet', '--schema', join(schemaDir, schema), '-'], xml);
  if (code === 0) return { valid: true, schema, errors: [] };
  const errors = stderr
    .split('\n')
    .filter((l) => l.startsWith('-:'))
    .map((l) => l.replace(/^-:(\d+): (?:element \S+: )?Schemas validity error : /, 'line $1: '));
  return { valid: false, schema, errors: errors.length > 0 ? errors : [stderr.trim() || `xmllint exited with ${code}`] };
}

function run(cmd: string, args: string[], input: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 64_000) stderr += d;
    });
    child.on('error', (err) => reject(new Error(`cannot run ${cmd} (Debian package libxml2-utils): ${err.message}`)));
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
