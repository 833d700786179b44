import dimse from 'dcmjs-dimse';
import { RawDataset } from './message.js';

/**
 * The C-STORE fallback only, when a PACS takes nothing but uncompressed: parses the whole file and re-encodes it
 * with dcmjs-dimse's public Dataset and Transcoding (WASM codecs for compressed data). The network path does not use it.
 */
const { Dataset, Transcoding } = dimse;
const UNCOMPRESSED = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2']);

let codecs: Promise<void> | undefined;

export async function transcodeFile(path: string, transferSyntaxUid: string): Promise<RawDataset> {
  const dataset = await new Promise<InstanceType<typeof Dataset>>((resolve, reject) =>
    Dataset.fromFile(path, (err, ds) => (err || !ds ? reject(err ?? new Error('unreadable')) : resolve(ds))),
  );
  if (!UNCOMPRESSED.has(dataset.getTransferSyntaxUid())) {
    codecs ??= Transcoding.initializeAsync();
    await codecs;
  }
  const converted = Transcoding.transcodeDataset(dataset, transferSyntaxUid);
  return new RawDataset(converted.getDenaturalizedDataset(), transferSyntaxUid);
}
