import { formatDecimal } from './format.js';
import type { PixelGrid, Vec3 } from './phantom.js';
import { quantize, type Quantization } from './pixels.js';
import type { SeededRandom } from './random.js';

/**
 * Contiguous axial slices through the head, inferior to superior, centred on the isocentre.
 * Image Plane module values (PS3.3 C.7.6.2) are derived from the same numbers the renderer uses.
 */
export interface AxialStack {
  count: number;
  rows: number;
  columns: number;
  pixelSpacing: number;
  sliceSpacing: number;
  sliceThickness: number;
  grid(k: number): PixelGrid;
  z(k: number): number;
}

const ROW_DIRECTION: Vec3 = [1, 0, 0];
const COLUMN_DIRECTION: Vec3 = [0, 1, 0];

export function axialStack(options: { count: number; rows: number; columns: number; fovMm: number; zFromMm: number; zToMm: number; singleSliceThicknessMm: number }): AxialStack {
  const { count, rows, columns } = options;
  const pixelSpacing = options.fovMm / Math.max(rows, columns);
  const sliceSpacing = count > 1 ? (options.zToMm - options.zFromMm) / (count - 1) : 0;
  const firstZ = count > 1 ? options.zFromMm : (options.zFromMm + options.zToMm) / 2;
  // Round where DICOM will: the file's positions and thickness must be the ones the pixels show.
  const round = (v: number) => Number(formatDecimal(v));
  const x0 = round((-(columns - 1) / 2) * pixelSpacing);
  const y0 = round((-(rows - 1) / 2) * pixelSpacing);
  const spacing = round(pixelSpacing);
  const z = (k: number) => round(firstZ + k * sliceSpacing);
  return {
    count,
    rows,
    columns,
    pixelSpacing: spacing,
    sliceSpacing: round(sliceSpacing),
    sliceThickness: count > 1 ? round(sliceSpacing) : options.singleSliceThicknessMm,
    z,
    grid: (k) => ({
      origin: [x0, y0, z(k)],
      rowDirection: ROW_DIRECTION,
      columnDirection: COLUMN_DIRECTION,
      rowSpacing: spacing,
      columnSpacing: spacing,
      rows,
      columns,
    }),
  };
}

/** Image Plane attributes constant over the stack. */
export function stackAttributes(stack: AxialStack): Record<string, unknown> {
  return {
    PixelSpacing: [formatDecimal(stack.pixelSpacing), formatDecimal(stack.pixelSpacing)],
    ImageOrientationPatient: [...ROW_DIRECTION, ...COLUMN_DIRECTION].map(formatDecimal),
    SliceThickness: formatDecimal(stack.sliceThickness),
  };
}

/** Image Plane attributes of slice k. */
export function sliceAttributes(stack: AxialStack, k: number): Record<string, unknown> {
  const { origin } = stack.grid(k);
  return {
    ImagePositionPatient: origin.map(formatDecimal),
    SliceLocation: formatDecimal(origin[2]),
  };
}

/** Renders slice k of an axial stack through a phantom into stored pixels, and returns the slice's own attributes. */
export function axialSliceRenderer(
  stack: AxialStack,
  render: (grid: PixelGrid, values: Float32Array) => void,
  ctx: { rows: number; columns: number; random: SeededRandom },
  q: Quantization,
  noise: Int16Array,
): (k: number, pixels: Uint16Array) => Record<string, unknown> {
  const values = new Float32Array(ctx.rows * ctx.columns);
  return (k, pixels) => {
    render(stack.grid(k), values);
    quantize(values, ctx.rows, ctx.columns, q, noise, ctx.random, pixels);
    return sliceAttributes(stack, k);
  };
}
