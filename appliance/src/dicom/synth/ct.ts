import { headPhantom, renderSlice, type TissueContrast } from './phantom.js';
import { BITS_STORED, grayscalePixelModule, type Quantization } from './pixels.js';
import { gaussianNoiseTable } from './random.js';
import { axialSliceRenderer, axialStack, stackAttributes } from './stack.js';
import type { ModalityProfile, SeriesContext, SeriesGenerator } from './profile.js';

/** CT Image Storage (PS3.4 B.5). */
export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

// HU of each region: air, cortical skull, brain, CSF, basal ganglia, hyperdense nodules.
const HEAD_HU: TissueContrast = { background: -1000, skull: 1000, brain: 35, ventricle: 8, deepGrey: 45, nodule: 65 };

const RESCALE_INTERCEPT = -1024;

interface Reconstruction {
  description: string;
  kernel: string;
  noiseHu: number;
  windows: { center: number; width: number; name: string }[];
}

const BRAIN_WINDOW = { center: 40, width: 80, name: 'CERVEAU' };
const BONE_WINDOW = { center: 600, width: 2800, name: 'OS' };

// A head CT is usually reconstructed twice: soft-tissue kernel and bone kernel.
const RECONSTRUCTIONS: readonly Reconstruction[] = [
  { description: 'Cerveau sans injection', kernel: 'H31s', noiseHu: 4, windows: [BRAIN_WINDOW, BONE_WINDOW] },
  { description: 'Crâne fenêtre osseuse', kernel: 'H70h', noiseHu: 18, windows: [BONE_WINDOW, BRAIN_WINDOW] },
];

function createCtSeries(ctx: SeriesContext): SeriesGenerator {
  const recon = RECONSTRUCTIONS[ctx.seriesIndex % RECONSTRUCTIONS.length]!;
  const stack = axialStack({ count: ctx.instanceCount, rows: ctx.rows, columns: ctx.columns, fovMm: 250, zFromMm: -86, zToMm: 86, singleSliceThicknessMm: 5 });
  const phantom = headPhantom(HEAD_HU);
  const noise = gaussianNoiseTable(ctx.random, recon.noiseHu);
  const q: Quantization = { scale: 1, offset: -RESCALE_INTERCEPT, maxStored: (1 << BITS_STORED) - 1 };

  return {
    attributes: {
      ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
      BodyPartExamined: 'HEAD',
      PatientPosition: 'HFS',
      SeriesDescription: recon.description,
      ProtocolName: 'Crâne sans injection',
      ...stackAttributes(stack),
      KVP: '120',
      DataCollectionDiameter: '500',
      ReconstructionDiameter: '250',
      DistanceSourceToDetector: '1085.6',
      DistanceSourceToPatient: '595',
      GantryDetectorTilt: '0',
      TableHeight: '145',
      RotationDirection: 'CW',
      ExposureTime: '1000',
      XRayTubeCurrent: '280',
      Exposure: '280',
      FilterType: 'HEAD FILTER',
      GeneratorPower: '34',
      FocalSpots: ['0.7'],
      ConvolutionKernel: [recon.kernel],
      ScanOptions: ['HELICAL MODE'],
      RevolutionTime: '1',
      SingleCollimationWidth: '0.6',
      TotalCollimationWidth: '19.2',
      TableFeedPerRotation: '10.6',
      SpiralPitchFactor: '0.55',
      CTDIvol: '52.4',
      // DCM 113690 (CID 4052): CTDIvol means nothing without its phantom.
      CTDIPhantomTypeCodeSequence: [{ CodeValue: '113690', CodingSchemeDesignator: 'DCM', CodeMeaning: 'IEC Head Dosimetry Phantom' }],
      AcquisitionNumber: 1,
      ...grayscalePixelModule(ctx.rows, ctx.columns),
      RescaleIntercept: String(RESCALE_INTERCEPT),
      RescaleSlope: '1',
      RescaleType: 'HU',
      WindowCenter: recon.windows.map((w) => String(w.center)),
      WindowWidth: recon.windows.map((w) => String(w.width)),
      WindowCenterWidthExplanation: recon.windows.map((w) => w.name),
    },
    renderInstance: axialSliceRenderer(stack, (grid, values) => renderSlice(phantom, grid, values), ctx, q, noise),
  };
}

export const ctProfile: ModalityProfile = {
  modality: 'CT',
  sopClassUid: CT_IMAGE_STORAGE,
  defaultRows: 512,
  defaultColumns: 512,
  defaultStudyDescription: 'Scanner cérébral sans injection',
  hasFrameOfReference: true,
  createSeries: createCtSeries,
};
