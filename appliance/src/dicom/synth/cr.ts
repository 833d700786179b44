import { headPhantom, renderProjection, type PixelGrid, type TissueContrast, type Vec3 } from './phantom.js';
import { BITS_STORED, grayscalePixelModule, quantize, type Quantization } from './pixels.js';
import { gaussianNoiseTable } from './random.js';
import { formatDecimal } from './format.js';
import type { ModalityProfile, SeriesContext, SeriesGenerator } from './profile.js';

/** Computed Radiography Image Storage (PS3.4 B.5). */
export const CR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.1';


// Linear attenuation, 1/mm, around 50 keV (cortical bone ≈ 0.085, soft tissue ≈ 0.023): soft tissues barely differ.
const ATTENUATION: TissueContrast = { background: 0, skull: 0.085, brain: 0.023, ventricle: 0.0225, deepGrey: 0.0232, nodule: 0.027 };

/** Stored value = base + gain × line integral: brighter where more is absorbed (MONOCHROME2). */
const BASE = 150;
const GAIN = 560;

/** Cassette 24 × 30 cm, portrait. */
const DETECTOR_WIDTH_MM = 240;
const DETECTOR_HEIGHT_MM = 300;

interface View {
  viewPosition: 'PA' | 'LL';
  description: string;
  ray: Vec3;
  /** Direction of increasing column index; rows always run head to feet. */
  rowDirection: Vec3;
  patientOrientation: [string, string];
}

const VIEWS: readonly View[] = [
  { viewPosition: 'PA', description: 'Crâne face', ray: [0, -1, 0], rowDirection: [1, 0, 0], patientOrientation: ['L', 'F'] },
  { viewPosition: 'LL', description: 'Crâne profil', ray: [1, 0, 0], rowDirection: [0, 1, 0], patientOrientation: ['P', 'F'] },
];

function createCrSeries(ctx: SeriesContext): SeriesGenerator {
  const view = VIEWS[ctx.seriesIndex % VIEWS.length]!;
  const spacing = Number(formatDecimal(Math.max(DETECTOR_WIDTH_MM / ctx.columns, DETECTOR_HEIGHT_MM / ctx.rows)));
  const grid: PixelGrid = {
    origin: [
      (-(ctx.columns - 1) / 2) * spacing * view.rowDirection[0],
      (-(ctx.columns - 1) / 2) * spacing * view.rowDirection[1],
      ((ctx.rows - 1) / 2) * spacing,
    ],
    rowDirection: view.rowDirection,
    columnDirection: [0, 0, -1],
    rowSpacing: spacing,
    columnSpacing: spacing,
    rows: ctx.rows,
    columns: ctx.columns,
  };
  // Every exposure of a series sees the same projection; only the quantum noise differs.
  const lineIntegrals = new Float32Array(ctx.rows * ctx.columns);
  renderProjection(headPhantom(ATTENUATION), grid, view.ray, lineIntegrals);
  const noise = gaussianNoiseTable(ctx.random, 20);
  const q: Quantization = { scale: GAIN, offset: BASE, maxStored: (1 << BITS_STORED) - 1 };

  return {
    attributes: {
      ImageType: ['ORIGINAL', 'PRIMARY'],
      BodyPartExamined: 'SKULL',
      ViewPosition: view.viewPosition,
      SeriesDescription: view.description,
      ProtocolName: 'Crâne face et profil',
      PatientOrientation: view.patientOrientation,
      KVP: '70',
      PlateID: 'P24X30-01',
      DistanceSourceToDetector: '1000',
      ExposureTime: '50',
      XRayTubeCurrent: '320',
      Exposure: '16',
      ImagerPixelSpacing: [formatDecimal(spacing), formatDecimal(spacing)],
      Sensitivity: '200',
      ...grayscalePixelModule(ctx.rows, ctx.columns),
      WindowCenter: '2000',
      WindowWidth: '3600',
    },
    renderInstance(_k, pixels) {
      quantize(lineIntegrals, ctx.rows, ctx.columns, q, noise, ctx.random, pixels);
      return {};
    },
  };
}

export const crProfile: ModalityProfile = {
  modality: 'CR',
  sopClassUid: CR_IMAGE_STORAGE,
  defaultRows: 2000,
  defaultColumns: 1600,
  defaultStudyDescription: 'Radiographie du crâne',
  hasFrameOfReference: false,
  createSeries: createCrSeries,
};
