import { stat, writeFile } from 'node:fs/promises';
import dimse from 'dcmjs-dimse';
import { EXPLICIT_VR_BE, EXPLICIT_VR_LE, IMPLICIT_VR_LE } from '../dicom/transfer-syntax-uids.js';
import { RawDataset } from './message.js';
import { encodeFileMeta } from './part10.js';

/**
 * Re-encoding a whole file with dcmjs-dimse's public Dataset and Transcoding (WASM codecs for compressed data): the
 * C-STORE fallback when a PACS takes nothing but uncompressed, and the box's own decompression for DICOMweb clients.
 * The network path does not use it.
 */
const { Dataset, Transcoding } = dimse;
const UNCOMPRESSED = new Set([IMPLICIT_VR_LE, EXPLICIT_VR_LE, EXPLICIT_VR_BE]);

let codecs: Promise<void> | undefined;

export async function transcodeFile(path: string, transferSyntaxUid: string): Promise<RawDataset> {
  return (await transcodeFileWithUids(path, transferSyntaxUid)).dataset;
}

async function transcodeFileWithUids(path: string, transferSyntaxUid: string): Promise<{ dataset: RawDataset; sopClassUid: string; sopInstanceUid: string }> {
  const dataset = await new Promise<InstanceType<typeof Dataset>>((resolve, reject) =>
    Dataset.fromFile(path, (err, ds) => (err || !ds ? reject(err ?? new Error('unreadable')) : resolve(ds))),
  );
  if (!UNCOMPRESSED.has(dataset.getTransferSyntaxUid())) {
    codecs ??= Transcoding.initializeAsync();
    await codecs;
  }
  const converted = Transcoding.transcodeDataset(dataset, transferSyntaxUid);
  return {
    dataset: new RawDataset(converted.getDenaturalizedDataset(), transferSyntaxUid),
    sopClassUid: dataset.getElement('SOPClassUID') ?? '',
    sopInstanceUid: dataset.getElement('SOPInstanceUID') ?? '',
  };
}

/** Largest stored file the box decompresses itself (the codecs hold the whole dataset, decoded, in memory). */
export const MAX_LOCAL_DECODE_BYTES = 32 * 1024 * 1024;

/**
 * The box's own decompression (when the PACS cannot convert, or is reached by C-MOVE, which cannot ask it to): a
 * Part-10 file re-encoded in an uncompressed transfer syntax, written as a new Part-10 file. Lossless codecs give
 * back the original pixels; a lossy one gives what any viewer would show.
 */
export async function decompressFile(inPath: string, transferSyntaxUid: string, outPath: string): Promise<number> {
  const { size } = await stat(inPath);
  if (size > MAX_LOCAL_DECODE_BYTES) throw new Error(`${size} bytes: larger than the ${MAX_LOCAL_DECODE_BYTES} the box decompresses itself`);
  const { dataset, sopClassUid, sopInstanceUid } = await transcodeFileWithUids(inPath, transferSyntaxUid);
  const { bytes } = dataset;
  const head = encodeFileMeta({ sopClassUid, sopInstanceUid, transferSyntaxUid });
  await writeFile(outPath, [head, bytes]);
  return head.length + bytes.length;
}
