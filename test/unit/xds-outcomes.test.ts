import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NS } from '../../appliance/src/xds/codes.js';
import {
  outcomeOfFault,
  outcomeOfHttpStatus,
  outcomeOfRegistryStatus,
  outcomeOfTransportError,
  registryStatusOf,
  soapFaultOf,
} from '../../appliance/src/xds/outcomes.js';
import { descendants, parseXmlSafely, XmlError } from '../../appliance/src/xds/xml.js';
import { ANS_ITI41_RESPONSE } from './xds-helpers.js';

function registryResponse(status: string, errors: { code: string; text: string; severity?: string }[] = []): string {
  const list = errors.length
    ? `<rs:RegistryErrorList>${errors
        .map((e) => `<rs:RegistryError errorCode="${e.code}" codeContext="${e.text}" severity="urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:${e.severity ?? 'Error'}"/>`)
        .join('')}</rs:RegistryErrorList>`
    : '';
  return `<soap:Envelope xmlns:soap="${NS.soap}"><soap:Body><rs:RegistryResponse xmlns:rs="${NS.rs}" status="${status}">${list}</rs:RegistryResponse></soap:Body></soap:Envelope>`;
}

function outcomeOf(xml: string) {
  return outcomeOfRegistryStatus(registryStatusOf(descendants(parseXmlSafely(xml, 'test'), NS.rs, 'RegistryResponse')[0]!));
}

const FAILURE = 'urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure';

describe('registry responses → outcomes', () => {
  it('the DMP test platform\'s answer to the ANS sample is a success', () => {
    // The fixture lost its MIME line breaks; its SOAP envelope is intact.
    const text = readFileSync(ANS_ITI41_RESPONSE, 'utf8');
    const envelope = text.slice(text.indexOf('<soap:Envelope'), text.indexOf('</soap:Envelope>') + '</soap:Envelope>'.length);
    expect(outcomeOf(envelope)).toEqual({ kind: 'success' });
  });

  it.each([
    ['XDSRegistryMetadataError', 'permanent'],
    ['XDSDuplicateUniqueIdInRegistry', 'permanent'],
    ['XDSPatientIdDoesNotMatch', 'permanent'],
    ['XDSUnknownPatientId', 'permanent'],
    ['XDSRepositoryMetadataError', 'permanent'],
    ['XDSRegistryBusy', 'retryable'],
    ['XDSRepositoryBusy', 'retryable'],
    ['XDSRegistryOutOfResources', 'retryable'],
    ['XDSRepositoryOutOfResources', 'retryable'],
  ])('Failure with %s is %s', (code, kind) => {
    const o = outcomeOf(registryResponse(FAILURE, [{ code, text: `context of ${code}` }]));
    expect(o.kind).toBe(kind);
    if (o.kind === 'permanent') expect(o).toEqual({ kind: 'permanent', code, text: `context of ${code}` });
    if (o.kind === 'retryable') expect(o.reason).toContain(code);
  });

  it('keeps the registry\'s first error code and text, and counts the others', () => {
    const o = outcomeOf(registryResponse(FAILURE, [
      { code: 'XDSRegistryMetadataError', text: 'referenceIdList invalide' },
      { code: 'XDSRegistryDuplicateUniqueIdInMessage', text: 'x' },
      { code: 'Warn', text: 'w', severity: 'Warning' },
    ]));
    expect(o).toEqual({ kind: 'permanent', code: 'XDSRegistryMetadataError', text: 'referenceIdList invalide (+1 more: XDSRegistryDuplicateUniqueIdInMessage)' });
  });

  it('PartialSuccess is a success flagged partial, with its errors', () => {
    const o = outcomeOf(registryResponse('urn:ihe:iti:2007:ResponseStatusType:PartialSuccess', [{ code: 'XDSDocumentUniqueIdError', text: 'one missing' }]));
    expect(o).toEqual({ kind: 'success', partial: true, warnings: [{ code: 'XDSDocumentUniqueIdError', severity: 'Error', text: 'one missing' }] });
  });

  it('an unknown status is an error, not a success', () => {
    expect(() => outcomeOf(registryResponse('urn:x:Whatever'))).toThrow(/unknown registry response status/);
  });
});

describe('faults, HTTP and transport → outcomes', () => {
  it('SOAP 1.2 faults: Sender is permanent, Receiver retryable', () => {
    const fault = (code: string) =>
      `<soap:Envelope xmlns:soap="${NS.soap}"><soap:Body><soap:Fault><soap:Code><soap:Value>soap:${code}</soap:Value>` +
      `<soap:Subcode><soap:Value>wsse:InvalidSecurity</soap:Value></soap:Subcode></soap:Code>` +
      `<soap:Reason><soap:Text xml:lang="fr">VIHF invalide</soap:Text></soap:Reason></soap:Fault></soap:Body></soap:Envelope>`;
    expect(outcomeOfFault(soapFaultOf(parseXmlSafely(fault('Sender'), 't'))!)).toEqual({ kind: 'permanent', code: 'SOAP:Sender/wsse:InvalidSecurity', text: 'VIHF invalide' });
    expect(outcomeOfFault(soapFaultOf(parseXmlSafely(fault('Receiver'), 't'))!).kind).toBe('retryable');
  });

  it('HTTP 5xx, 408, 429 are retryable; other 4xx permanent; transport errors retryable', () => {
    expect(outcomeOfHttpStatus(503, '').kind).toBe('retryable');
    expect(outcomeOfHttpStatus(500, 'boom').kind).toBe('retryable');
    expect(outcomeOfHttpStatus(429, '').kind).toBe('retryable');
    expect(outcomeOfHttpStatus(403, 'forbidden')).toEqual({ kind: 'permanent', code: 'HTTP403', text: 'forbidden' });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(outcomeOfTransportError(reset)).toEqual({ kind: 'retryable', reason: 'transport: ECONNRESET socket hang up' });
  });
});

describe('safe XML parsing of answers', () => {
  it('refuses a response carrying a DOCTYPE (no entity is ever expanded)', () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${registryResponse(FAILURE).replace('status=', 'a="&x;" status=')}`;
    expect(() => parseXmlSafely(xxe, 'answer')).toThrow(XmlError);
    expect(() => parseXmlSafely(xxe, 'answer')).toThrow(/DOCTYPE/);
    const billion = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><r>&lol2;</r>';
    expect(() => parseXmlSafely(billion, 'answer')).toThrow(/DOCTYPE/);
  });

  it('refuses malformed XML with a reason', () => {
    expect(() => parseXmlSafely('<a><b></a>', 'answer')).toThrow(/malformed XML/);
    expect(() => parseXmlSafely('', 'answer')).toThrow(XmlError);
  });
});
