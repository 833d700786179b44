/**
 * 3-D Shepp–Logan head phantom (modified intensities after Toft, ellipsoid geometry as in Schabel's
 * phantom3d), in patient coordinates (LPS, mm). Each ellipsoid adds its weight to the points inside it;
 * the weights come from the tissue values of a contrast (CT in HU, MR signal, X-ray attenuation).
 *
 * Rendering is analytic: along a row of pixels the ellipsoid's quadratic form is a quadratic in the
 * column index, so each ellipsoid costs one root solve per row and one add per covered pixel.
 */

export type Vec3 = readonly [number, number, number];

/** Values of each region of the head, in the unit of the image (HU for CT). */
export interface TissueContrast {
  background: number;
  skull: number;
  brain: number;
  ventricle: number;
  deepGrey: number;
  nodule: number;
}

type Region = Exclude<keyof TissueContrast, 'background'>;

export interface Ellipsoid {
  center: Vec3;
  /** Unit vectors of the three principal axes. */
  axes: readonly [Vec3, Vec3, Vec3];
  semiAxes: Vec3;
  weight: number;
}

export interface Phantom {
  background: number;
  ellipsoids: readonly Ellipsoid[];
}

/** A plane of pixels: pixel (r, c) is at origin + c·columnSpacing·rowDirection + r·rowSpacing·columnDirection. */
export interface PixelGrid {
  /** Centre of the first transmitted pixel (DICOM Image Position (Patient)). */
  origin: Vec3;
  /** Direction of increasing column index (first triplet of Image Orientation (Patient)). */
  rowDirection: Vec3;
  /** Direction of increasing row index (second triplet). */
  columnDirection: Vec3;
  /** Distance between rows and between columns, mm (DICOM Pixel Spacing order). */
  rowSpacing: number;
  columnSpacing: number;
  rows: number;
  columns: number;
}

interface EllipsoidSpec {
  region: Region;
  /** Semi-axes and centre in phantom units (head fits in [-1, 1]^3, y up in the classic picture). */
  a: number;
  b: number;
  c: number;
  x0: number;
  y0: number;
  z0: number;
  /** Rotation about z, degrees, in the classic picture's frame. */
  phi: number;
}

// Modified 3-D Shepp–Logan; rotations kept about z only (the ventricles' 10° tilt is dropped).
const SHEPP_LOGAN_3D: readonly EllipsoidSpec[] = [
  { region: 'skull', a: 0.69, b: 0.92, c: 0.81, x0: 0, y0: 0, z0: 0, phi: 0 },
  { region: 'brain', a: 0.6624, b: 0.874, c: 0.78, x0: 0, y0: -0.0184, z0: 0, phi: 0 },
  { region: 'ventricle', a: 0.11, b: 0.31, c: 0.22, x0: 0.22, y0: 0, z0: 0, phi: -18 },
  { region: 'ventricle', a: 0.16, b: 0.41, c: 0.28, x0: -0.22, y0: 0, z0: 0, phi: 18 },
  { region: 'deepGrey', a: 0.21, b: 0.25, c: 0.41, x0: 0, y0: 0.35, z0: -0.15, phi: 0 },
  { region: 'nodule', a: 0.046, b: 0.046, c: 0.05, x0: 0, y0: 0.1, z0: 0.25, phi: 0 },
  { region: 'nodule', a: 0.046, b: 0.046, c: 0.05, x0: 0, y0: -0.1, z0: 0.25, phi: 0 },
  { region: 'nodule', a: 0.046, b: 0.023, c: 0.05, x0: -0.08, y0: -0.605, z0: 0, phi: 0 },
  { region: 'nodule', a: 0.023, b: 0.023, c: 0.02, x0: 0, y0: -0.606, z0: 0, phi: 0 },
  { region: 'nodule', a: 0.023, b: 0.046, c: 0.02, x0: 0.06, y0: -0.605, z0: 0, phi: 0 },
];

/** Half-size of the phantom unit, mm: the head is 152 mm wide, 202 mm deep, 178 mm high. */
export const PHANTOM_SCALE_MM = 110;

/** The additive weight of a region: its value minus the value of what encloses it. */
function regionWeight(region: Region, t: TissueContrast): number {
  switch (region) {
    case 'skull':
      return t.skull - t.background;
    case 'brain':
      return t.brain - t.skull;
    default:
      return t[region] - t.brain;
  }
}

export function headPhantom(contrast: TissueContrast, scaleMm = PHANTOM_SCALE_MM): Phantom {
  const ellipsoids = SHEPP_LOGAN_3D.map((e): Ellipsoid => {
    const phi = (e.phi * Math.PI) / 180;
    const cos = Math.cos(phi);
    const sin = Math.sin(phi);
    // The classic picture has y pointing up (anterior); LPS y points posterior: flip y.
    return {
      center: [e.x0 * scaleMm, -e.y0 * scaleMm, e.z0 * scaleMm],
      axes: [
        [cos, -sin, 0],
        [-sin, -cos, 0],
        [0, 0, 1],
      ],
      semiAxes: [e.a * scaleMm, e.b * scaleMm, e.c * scaleMm],
      weight: regionWeight(e.region, contrast),
    };
  });
  return { background: contrast.background, ellipsoids };
}

/** Σ ((p − centre)·axisₖ / semiAxisₖ)²: ≤ 1 inside. */
function quadraticForm(e: Ellipsoid, x: number, y: number, z: number): number {
  const dx = x - e.center[0];
  const dy = y - e.center[1];
  const dz = z - e.center[2];
  let sum = 0;
  for (let k = 0; k < 3; k++) {
    const axis = e.axes[k]!;
    const t = (dx * axis[0] + dy * axis[1] + dz * axis[2]) / e.semiAxes[k]!;
    sum += t * t;
  }
  return sum;
}

/** Reference (slow) value at one point: what the renderers must agree with. */
export function phantomValueAt(phantom: Phantom, p: Vec3): number {
  let value = phantom.background;
  for (const e of phantom.ellipsoids) if (quadraticForm(e, p[0], p[1], p[2]) <= 1) value += e.weight;
  return value;
}

/** Coefficients (A, B, C) of the quadratic f(u) = A·u² + B·u + C through f(-1), f(0), f(1). */
function fitQuadratic(fm1: number, f0: number, f1: number): [number, number, number] {
  return [(f1 + fm1) / 2 - f0, (f1 - fm1) / 2, f0];
}

/** Integer u in [0, count) with A·u² + B·u + C ≤ 0 (A > 0), as [first, last], or undefined. */
function integerRootSpan(a: number, b: number, c: number, count: number): [number, number] | undefined {
  const disc = b * b - 4 * a * c;
  if (!(disc > 0) || !(a > 0)) return undefined;
  const root = Math.sqrt(disc);
  const first = Math.max(0, Math.ceil((-b - root) / (2 * a)));
  const last = Math.min(count - 1, Math.floor((-b + root) / (2 * a)));
  return first <= last ? [first, last] : undefined;
}

function maxSemiAxis(e: Ellipsoid): number {
  return Math.max(e.semiAxes[0], e.semiAxes[1], e.semiAxes[2]);
}

function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function rowStart(grid: PixelGrid, r: number): Vec3 {
  const d = r * grid.rowSpacing;
  return [grid.origin[0] + d * grid.columnDirection[0], grid.origin[1] + d * grid.columnDirection[1], grid.origin[2] + d * grid.columnDirection[2]];
}

/** Values of the phantom at the centres of a plane's pixels, row by row into `out` (rows × columns). */
export function renderSlice(phantom: Phantom, grid: PixelGrid, out: Float32Array): void {
  const { rows, columns } = grid;
  if (out.length < rows * columns) throw new RangeError(`slice buffer holds ${out.length} values, ${rows * columns} needed`);
  out.fill(phantom.background, 0, rows * columns);
  const normal = cross(grid.rowDirection, grid.columnDirection);
  const step = grid.columnSpacing;
  const sx = step * grid.rowDirection[0];
  const sy = step * grid.rowDirection[1];
  const sz = step * grid.rowDirection[2];
  for (const e of phantom.ellipsoids) {
    const dc: Vec3 = [e.center[0] - grid.origin[0], e.center[1] - grid.origin[1], e.center[2] - grid.origin[2]];
    const distance = dc[0] * normal[0] + dc[1] * normal[1] + dc[2] * normal[2];
    if (Math.abs(distance) > maxSemiAxis(e)) continue;
    for (let r = 0; r < rows; r++) {
      const [x, y, z] = rowStart(grid, r);
      const [a, b, c] = fitQuadratic(
        quadraticForm(e, x - sx, y - sy, z - sz),
        quadraticForm(e, x, y, z),
        quadraticForm(e, x + sx, y + sy, z + sz),
      );
      const span = integerRootSpan(a, b, c - 1, columns);
      if (!span) continue;
      const base = r * columns;
      for (let col = span[0]; col <= span[1]; col++) out[base + col]! += e.weight;
    }
  }
}

/**
 * Line integrals of the phantom's weights (weight × mm) along `ray` through each pixel of a detector
 * plane, parallel beam. The background is not integrated (air).
 */
export function renderProjection(phantom: Phantom, grid: PixelGrid, ray: Vec3, out: Float32Array): void {
  const { rows, columns } = grid;
  if (out.length < rows * columns) throw new RangeError(`projection buffer holds ${out.length} values, ${rows * columns} needed`);
  out.fill(0, 0, rows * columns);
  const step = grid.columnSpacing;
  const sx = step * grid.rowDirection[0];
  const sy = step * grid.rowDirection[1];
  const sz = step * grid.rowDirection[2];
  for (const e of phantom.ellipsoids) {
    // Along the ray, q(p + t·ray) = qa·t² + qb·t + qc; the chord is √(qb² − 4·qa·(qc − 1)) / qa.
    const qa = quadraticForm(e, e.center[0] + ray[0], e.center[1] + ray[1], e.center[2] + ray[2]);
    const discriminant = (x: number, y: number, z: number): number => {
      const [, qb, qc] = fitQuadratic(
        quadraticForm(e, x - ray[0], y - ray[1], z - ray[2]),
        quadraticForm(e, x, y, z),
        quadraticForm(e, x + ray[0], y + ray[1], z + ray[2]),
      );
      return qb * qb - 4 * qa * (qc - 1);
    };
    for (let r = 0; r < rows; r++) {
      const [x, y, z] = rowStart(grid, r);
      // The discriminant is itself a quadratic in the column index, opening downwards.
      const [a, b, c] = fitQuadratic(discriminant(x - sx, y - sy, z - sz), discriminant(x, y, z), discriminant(x + sx, y + sy, z + sz));
      const span = integerRootSpan(-a, -b, -c, columns);
      if (!span) continue;
      const base = r * columns;
      const scale = e.weight / qa;
      for (let col = span[0]; col <= span[1]; col++) {
        const d = (a * col + b) * col + c;
        if (d > 0) out[base + col]! += scale * Math.sqrt(d);
      }
    }
  }
}

/** Reference (slow) chord length of `ray` through an ellipsoid from point p, mm: for tests. */
export function chordLength(e: Ellipsoid, p: Vec3, ray: Vec3): number {
  const qa = quadraticForm(e, e.center[0] + ray[0], e.center[1] + ray[1], e.center[2] + ray[2]);
  const q0 = quadraticForm(e, p[0], p[1], p[2]);
  const q1 = quadraticForm(e, p[0] + ray[0], p[1] + ray[1], p[2] + ray[2]);
  const qm1 = quadraticForm(e, p[0] - ray[0], p[1] - ray[1], p[2] - ray[2]);
  const qb = (q1 - qm1) / 2;
  const d = qb * qb - 4 * qa * (q0 - 1);
  return d > 0 ? Math.sqrt(d) / qa : 0;
}
