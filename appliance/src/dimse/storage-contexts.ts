import type { ProposedContext } from './association.js';
import { UNCOMPRESSED } from './context.js';

/**
 * Compressed transfer syntaxes the box accepts as is in a C-GET, each in a presentation context of its own:
 * an acceptor picks one transfer syntax per context (Orthanc picks Explicit VR LE when it is offered
 * alongside), and the box wants instances byte for byte as the PACS stores them (PS3.5 §10, Table A-1).
 */
export const STORED_AS_IS = [
  '1.2.840.10008.1.2.4.80', // JPEG-LS Lossless
  '1.2.840.10008.1.2.4.70', // JPEG Lossless, First-Order Prediction
  '1.2.840.10008.1.2.4.90', // JPEG 2000 Lossless
  '1.2.840.10008.1.2.4.50', // JPEG Baseline
  '1.2.840.10008.1.2.4.91', // JPEG 2000
  '1.2.840.10008.1.2.4.81', // JPEG-LS Near-Lossless
  '1.2.840.10008.1.2.5', // RLE Lossless
  '1.2.840.10008.1.2.4.51', // JPEG Extended
  '1.2.840.10008.1.2.4.57', // JPEG Lossless, Non-Hierarchical
];

/** Storage SOP classes proposed when the PACS does not say which a study holds (PS3.4 B.5), most common first. */
export const COMMON_STORAGE_CLASSES = [
  '1.2.840.10008.5.1.4.1.1.2', // CT Image
  '1.2.840.10008.5.1.4.1.1.4', // MR Image
  '1.2.840.10008.5.1.4.1.1.1', // Computed Radiography Image
  '1.2.840.10008.5.1.4.1.1.1.1', // Digital X-Ray Image, For Presentation
  '1.2.840.10008.5.1.4.1.1.1.2', // Digital Mammography X-Ray Image, For Presentation
  '1.2.840.10008.5.1.4.1.1.6.1', // Ultrasound Image
  '1.2.840.10008.5.1.4.1.1.3.1', // Ultrasound Multi-frame Image
  '1.2.840.10008.5.1.4.1.1.7', // Secondary Capture Image
  '1.2.840.10008.5.1.4.1.1.12.1', // X-Ray Angiographic Image
  '1.2.840.10008.5.1.4.1.1.12.2', // X-Ray Radiofluoroscopic Image
  '1.2.840.10008.5.1.4.1.1.20', // Nuclear Medicine Image
  '1.2.840.10008.5.1.4.1.1.128', // Positron Emission Tomography Image
  '1.2.840.10008.5.1.4.1.1.2.1', // Enhanced CT Image
  '1.2.840.10008.5.1.4.1.1.4.1', // Enhanced MR Image
  '1.2.840.10008.5.1.4.1.1.1.1.1', // Digital X-Ray Image, For Processing
  '1.2.840.10008.5.1.4.1.1.1.2.1', // Digital Mammography X-Ray Image, For Processing
  '1.2.840.10008.5.1.4.1.1.13.1.3', // Breast Tomosynthesis Image
  '1.2.840.10008.5.1.4.1.1.7.1', // Multi-frame Single Bit Secondary Capture
  '1.2.840.10008.5.1.4.1.1.7.2', // Multi-frame Grayscale Byte Secondary Capture
  '1.2.840.10008.5.1.4.1.1.7.3', // Multi-frame Grayscale Word Secondary Capture
  '1.2.840.10008.5.1.4.1.1.7.4', // Multi-frame True Color Secondary Capture
  '1.2.840.10008.5.1.4.1.1.77.1.4', // VL Photographic Image
  '1.2.840.10008.5.1.4.1.1.481.1', // RT Image
  '1.2.840.10008.5.1.4.1.1.481.2', // RT Dose
  '1.2.840.10008.5.1.4.1.1.481.3', // RT Structure Set
  '1.2.840.10008.5.1.4.1.1.481.5', // RT Plan
  '1.2.840.10008.5.1.4.1.1.88.11', // Basic Text SR
  '1.2.840.10008.5.1.4.1.1.88.22', // Enhanced SR
  '1.2.840.10008.5.1.4.1.1.88.33', // Comprehensive SR
  '1.2.840.10008.5.1.4.1.1.88.67', // X-Ray Radiation Dose SR
  '1.2.840.10008.5.1.4.1.1.88.59', // Key Object Selection Document
  '1.2.840.10008.5.1.4.1.1.11.1', // Grayscale Softcopy Presentation State
  '1.2.840.10008.5.1.4.1.1.104.1', // Encapsulated PDF
  '1.2.840.10008.5.1.4.1.1.66', // Raw Data
];

/**
 * Classes known to carry no Pixel Data (SR, presentation states, encapsulated documents, raw data, registrations,
 * RT plans and structure sets...): their compressed contexts are proposed last, once every other class has its
 * own. Any class may carry pixels (RT Dose, Segmentation...), so none is left without its stored syntax while the
 * budget lasts: a PACS that cannot transcode would otherwise fail the C-GET (PS3.4 C.4.3.1).
 */
function knownWithoutPixels(sopClassUid: string): boolean {
  return /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.(88\.\d+|11\.\d+|104\.\d+|66|66\.[1235]|481\.[3-9])$/.test(sopClassUid);
}

/**
 * Presentation contexts in which the box offers to be the C-STORE SCP: every class uncompressed first, then,
 * while the budget lasts, each compressed syntax for every class — classes known to carry no pixels last. With
 * `only`, every class in that one transfer syntax and nothing else.
 */
export function storageContexts(sopClassUids: string[], budget: number, only?: string): { contexts: ProposedContext[]; dropped: string[] } {
  const classes = [...new Set(sopClassUids)];
  const contexts: ProposedContext[] = [];
  const dropped: string[] = [];
  for (const uid of classes) {
    if (contexts.length >= budget) dropped.push(uid);
    else contexts.push({ abstractSyntaxUid: uid, transferSyntaxUids: only ? [only] : UNCOMPRESSED, scpRole: true });
  }
  // One syntax asked for (the PACS converts to it, PS3.4 C.4.3.1): no compressed context is offered.
  if (only) return { contexts, dropped };
  const kept = classes.filter((uid) => !dropped.includes(uid));
  for (const group of [kept.filter((uid) => !knownWithoutPixels(uid)), kept.filter(knownWithoutPixels)]) {
    for (const ts of STORED_AS_IS) {
      for (const uid of group) {
        if (contexts.length >= budget) return { contexts, dropped };
        contexts.push({ abstractSyntaxUid: uid, transferSyntaxUids: [ts], scpRole: true });
      }
    }
  }
  return { contexts, dropped };
}
