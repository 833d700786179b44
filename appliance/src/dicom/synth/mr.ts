import { headPhantom, renderSlice, type TissueContrast } from './phantom.js';
import { BITS_STORED, grayscalePixelModule, type Quantization } from './pixels.js';
import { gaussianNoiseTable } from './random.js';
import { axialSliceRenderer, axialStack, stackAttributes } from './stack.js';
import { formatDecimal } from './format.js';
import type { ModalityProfile, SeriesContext, SeriesGenerator } from './profile.js';

/** MR Image Storage (PS3.4 B.5). */
export const MR_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.4';

const FIELD_STRENGTH_T = 1.5;
/** Larmor frequency of 1H, MHz per tesla. */
const PROTON_MHZ_PER_T = 42.577;

interface Protocol {
  description: string;
  sequenceName: string;
  scanningSequence: string[];
  sequenceVariant: string[];
  repetitionTime: number;
  echoTime: number;
  inversionTime?: number;
  echoTrainLength: number;
  flipAngle: number;
  phaseEncodingSteps: number;
  /** Signal of each region (arbitrary units, 12 bits). */
  contrast: TissueContrast;
  window: { center: number; width: number };
}

// The three sequences of a routine brain MR: the same anatomy, three contrasts.
const PROTOCOLS: readonly Protocol[] = [
  {
    description: 'T1 SE axial',
    sequenceName: '*se2d1',
    scanningSequence: ['SE'],
    sequenceVariant: ['NONE'],
    repetitionTime: 520,
    echoTime: 12,
    echoTrainLength: 1,
    flipAngle: 90,
    phaseEncodingSteps: 192,
    contrast: { background: 0, skull: 380, brain: 720, ventricle: 190, deepGrey: 640, nodule: 930 },
    window: { center: 600, width: 1200 },
  },
  {
    description: 'T2 TSE axial',
    sequenceName: '*tse2d1_15',
    scanningSequence: ['SE'],
    sequenceVariant: ['SK'],
    repetitionTime: 4500,
    echoTime: 98,
    echoTrainLength: 15,
    flipAngle: 150,
    phaseEncodingSteps: 230,
    contrast: { background: 0, skull: 260, brain: 540, ventricle: 1500, deepGrey: 610, nodule: 1100 },
    window: { center: 750, width: 1500 },
  },
  {
    description: 'FLAIR axial',
    sequenceName: '*tir2d1_16',
    scanningSequence: ['SE', 'IR'],
    sequenceVariant: ['SK', 'SP', 'MP'],
    repetitionTime: 9000,
    echoTime: 85,
    inversionTime: 2500,
    echoTrainLength: 16,
    flipAngle: 150,
    phaseEncodingSteps: 192,
    contrast: { background: 0, skull: 300, brain: 560, ventricle: 60, deepGrey: 650, nodule: 1300 },
    window: { center: 650, width: 1300 },
  },
];

function createMrSeries(ctx: SeriesContext): SeriesGenerator {
  const protocol = PROTOCOLS[ctx.seriesIndex % PROTOCOLS.length]!;
  const stack = axialStack({ count: ctx.instanceCount, rows: ctx.rows, columns: ctx.columns, fovMm: 230, zFromMm: -75, zToMm: 75, singleSliceThicknessMm: 5 });
  const phantom = headPhantom(protocol.contrast);
  const noise = gaussianNoiseTable(ctx.random, 12);
  const q: Quantization = { scale: 1, offset: 0, maxStored: (1 << BITS_STORED) - 1, magnitude: true };

  return {
    attributes: {
      ImageType: ['ORIGINAL', 'PRIMARY', 'OTHER'],
      BodyPartExamined: 'HEAD',
      PatientPosition: 'HFS',
      SeriesDescription: protocol.description,
      ProtocolName: `Encéphale ${protocol.description}`,
      ...stackAttributes(stack),
      SpacingBetweenSlices: formatDecimal(stack.sliceSpacing > 0 ? stack.sliceSpacing : stack.sliceThickness),
      ScanningSequence: protocol.scanningSequence,
      SequenceVariant: protocol.sequenceVariant,
      ScanOptions: '',
      MRAcquisitionType: '2D',
      SequenceName: protocol.sequenceName,
      AngioFlag: 'N',
      RepetitionTime: formatDecimal(protocol.repetitionTime),
      EchoTime: formatDecimal(protocol.echoTime),
      ...(protocol.inversionTime !== undefined && { InversionTime: formatDecimal(protocol.inversionTime) }),
      EchoTrainLength: protocol.echoTrainLength,
      EchoNumbers: [1],
      NumberOfAverages: '1',
      ImagingFrequency: formatDecimal(FIELD_STRENGTH_T * PROTON_MHZ_PER_T),
      ImagedNucleus: '1H',
      MagneticFieldStrength: formatDecimal(FIELD_STRENGTH_T),
      NumberOfPhaseEncodingSteps: protocol.phaseEncodingSteps,
      PercentSampling: '100',
      PercentPhaseFieldOfView: '100',
      PixelBandwidth: '190',
      ReceiveCoilName: 'Head 20',
      TransmitCoilName: 'Body',
      AcquisitionMatrix: [ctx.rows, 0, 0, protocol.phaseEncodingSteps],
      InPlanePhaseEncodingDirection: 'ROW',
      FlipAngle: formatDecimal(protocol.flipAngle),
      VariableFlipAngleFlag: 'N',
      SAR: '0.8',
      dBdt: '0',
      AcquisitionNumber: 1,
      ...grayscalePixelModule(ctx.rows, ctx.columns),
      WindowCenter: String(protocol.window.center),
      WindowWidth: String(protocol.window.width),
    },
    renderInstance: axialSliceRenderer(stack, (grid, values) => renderSlice(phantom, grid, values), ctx, q, noise),
  };
}

export const mrProfile: ModalityProfile = {
  modality: 'MR',
  sopClassUid: MR_IMAGE_STORAGE,
  defaultRows: 256,
  defaultColumns: 256,
  defaultStudyDescription: 'IRM cérébrale',
  hasFrameOfReference: true,
  createSeries: createMrSeries,
};
