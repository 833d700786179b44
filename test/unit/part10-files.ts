/** Small Part-10 files for the tests of the DICOMweb relay: preamble, DICM, a file meta of three UIDs, a dataset. */

function metaElement(element: number, value: string): Buffer {
  const v = Buffer.from(value.length % 2 ? `${value}\0` : value, 'latin1');
  const head = Buffer.alloc(8);
  head.writeUInt16LE(0x0002, 0);
  head.writeUInt16LE(element, 2);
  head.write('UI', 4, 'latin1');
  head.writeUInt16LE(v.length, 6);
  return Buffer.concat([head, v]);
}

/** SOP class CT Image Storage; `dataset` follows the file meta as is. */
export function smallPart10(sop: string, ts: string, dataset: Buffer): Buffer {
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), metaElement(0x0002, '1.2.840.10008.5.1.4.1.1.2'), metaElement(0x0003, sop), metaElement(0x0010, ts), dataset]);
}
