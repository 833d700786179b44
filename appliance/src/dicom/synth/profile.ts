import type { SeededRandom } from './random.js';
import type { SynthModality } from './types.js';

export interface SeriesContext {
  /** 0-based position of the series in the study. */
  seriesIndex: number;
  seriesNumber: number;
  instanceCount: number;
  rows: number;
  columns: number;
  /** Noise source of this series (seeded: same seed, same pixels). */
  random: SeededRandom;
}

export interface SeriesGenerator {
  /** Modality-specific attributes, the same for every instance of the series (dcmjs keywords). */
  attributes: Record<string, unknown>;
  /** Renders instance `k` (0-based) into `pixels` (rows × columns) and returns its own attributes. */
  renderInstance(k: number, pixels: Uint16Array): Record<string, unknown>;
}

/** What one modality contributes: its SOP class, its defaults, and how to build a series. */
export interface ModalityProfile {
  modality: SynthModality;
  sopClassUid: string;
  defaultRows: number;
  defaultColumns: number;
  defaultStudyDescription: string;
  /** Cross-sectional images carry a Frame of Reference (one per study here: the patient does not move). */
  hasFrameOfReference: boolean;
  createSeries(context: SeriesContext): SeriesGenerator;
}
