import { describe, expect, it } from 'vitest';
import {
  PHANTOM_SCALE_MM,
  chordLength,
  headPhantom,
  phantomValueAt,
  renderProjection,
  renderSlice,
  type PixelGrid,
  type TissueContrast,
  type Vec3,
} from '../../appliance/src/dicom/synth/phantom.js';

const HU: TissueContrast = { background: -1000, skull: 1000, brain: 35, ventricle: 8, deepGrey: 45, nodule: 65 };
const phantom = headPhantom(HU);
const S = PHANTOM_SCALE_MM;

/** Classic Shepp–Logan coordinates (y up = anterior) → LPS mm. */
const at = (x: number, y: number, z: number): Vec3 => [x * S, -y * S, z * S];

function axialGrid(size: number, z: number, fovMm = 250): PixelGrid {
  const spacing = fovMm / size;
  const first = (-(size - 1) / 2) * spacing;
  return { origin: [first, first, z], rowDirection: [1, 0, 0], columnDirection: [0, 1, 0], rowSpacing: spacing, columnSpacing: spacing, rows: size, columns: size };
}

describe('3-D Shepp–Logan head phantom: point values', () => {
  it('is air outside the head', () => {
    expect(phantomValueAt(phantom, at(0.8, 0, 0))).toBe(-1000);
    expect(phantomValueAt(phantom, at(0, 0.95, 0))).toBe(-1000);
    expect(phantomValueAt(phantom, at(0, 0, 0.85))).toBe(-1000);
  });

  it('is bone in the shell between the outer and the inner ellipsoid', () => {
    expect(phantomValueAt(phantom, at(0, 0.9, 0))).toBe(1000);
    expect(phantomValueAt(phantom, at(0.68, 0, 0))).toBe(1000);
    expect(phantomValueAt(phantom, at(0, 0, 0.8))).toBe(1000);
  });

  it('is brain at the centre, CSF in both ventricles, grey matter and nodules where they are', () => {
    expect(phantomValueAt(phantom, at(0, 0, 0))).toBe(35);
    expect(phantomValueAt(phantom, at(0.22, 0, 0))).toBe(8);
    expect(phantomValueAt(phantom, at(-0.22, 0, 0))).toBe(8);
    expect(phantomValueAt(phantom, at(0, 0.35, -0.15))).toBe(45);
    expect(phantomValueAt(phantom, at(0, -0.1, 0.25))).toBe(65);
    expect(phantomValueAt(phantom, at(0, -0.606, 0))).toBe(65);
  });

  it('rotates the ventricles: a point on the tilted long axis is inside, its mirror across the axis is not', () => {
    // Right ventricle (x = -0.22): semi-axes 0.16 × 0.41, rotated +18° in the classic picture.
    const along = -0.35;
    const phi = (18 * Math.PI) / 180;
    const onAxis = at(-0.22 - along * Math.sin(phi), along * Math.cos(phi), 0);
    const mirrored = at(-0.22 + along * Math.sin(phi), along * Math.cos(phi), 0);
    expect(phantomValueAt(phantom, onAxis)).toBe(8);
    expect(phantomValueAt(phantom, mirrored)).toBe(35);
  });
});

describe('renderSlice', () => {
  it.each([-80, -30, 0, 12.5, 27.5, 60])('matches the point values at every pixel centre of the axial slice z = %d mm', (z) => {
    const grid = axialGrid(96, z);
    const out = new Float32Array(96 * 96);
    renderSlice(phantom, grid, out);
    let mismatches = 0;
    for (let r = 0; r < grid.rows; r++) {
      for (let c = 0; c < grid.columns; c++) {
        const p: Vec3 = [grid.origin[0] + c * grid.columnSpacing, grid.origin[1] + r * grid.rowSpacing, z];
        if (out[r * grid.columns + c] !== phantomValueAt(phantom, p)) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });

  it('gives different images at different heights (one slice per instance through the volume)', () => {
    const a = new Float32Array(64 * 64);
    const b = new Float32Array(64 * 64);
    renderSlice(phantom, axialGrid(64, 0), a);
    renderSlice(phantom, axialGrid(64, 40), b);
    expect(a).not.toEqual(b);
    expect(a.some((v) => v === 8)).toBe(true); // ventricles at z = 0
    expect(b.some((v) => v === 8)).toBe(false); // above them at z = 40 mm
  });

  it('is all air above the head', () => {
    const out = new Float32Array(32 * 32);
    renderSlice(phantom, axialGrid(32, 95), out);
    expect(out.every((v) => v === -1000)).toBe(true);
  });

  it('works on any plane: a coronal slice agrees with the point values', () => {
    const size = 64;
    const spacing = 4;
    const grid: PixelGrid = {
      origin: [(-(size - 1) / 2) * spacing, 10, ((size - 1) / 2) * spacing],
      rowDirection: [1, 0, 0],
      columnDirection: [0, 0, -1],
      rowSpacing: spacing,
      columnSpacing: spacing,
      rows: size,
      columns: size,
    };
    const out = new Float32Array(size * size);
    renderSlice(phantom, grid, out);
    for (const [r, c] of [[32, 32], [10, 20], [40, 12], [5, 5], [55, 50]] as const) {
      const p: Vec3 = [grid.origin[0] + c * spacing, 10, grid.origin[2] - r * spacing];
      expect(out[r * size + c]).toBe(phantomValueAt(phantom, p));
    }
  });

  it('refuses a buffer too small for the grid', () => {
    expect(() => renderSlice(phantom, axialGrid(16, 0), new Float32Array(10))).toThrow(/256 needed/);
  });
});

describe('renderProjection', () => {
  const mu: TissueContrast = { background: 0, skull: 0.085, brain: 0.023, ventricle: 0.0225, deepGrey: 0.0232, nodule: 0.027 };
  const attenuation = headPhantom(mu);

  it('equals the sum of weight × chord along each ray (posteroanterior view)', () => {
    const size = 48;
    const spacing = 5;
    const grid: PixelGrid = {
      origin: [(-(size - 1) / 2) * spacing, 0, ((size - 1) / 2) * spacing],
      rowDirection: [1, 0, 0],
      columnDirection: [0, 0, -1],
      rowSpacing: spacing,
      columnSpacing: spacing,
      rows: size,
      columns: size,
    };
    const ray: Vec3 = [0, -1, 0];
    const out = new Float32Array(size * size);
    renderProjection(attenuation, grid, ray, out);
    let compared = 0;
    for (let r = 0; r < size; r += 3) {
      for (let c = 0; c < size; c += 3) {
        const p: Vec3 = [grid.origin[0] + c * spacing, 0, grid.origin[2] - r * spacing];
        const expected = attenuation.ellipsoids.reduce((sum, e) => sum + e.weight * chordLength(e, p, ray), 0);
        expect(out[r * size + c]).toBeCloseTo(expected, 4);
        compared++;
      }
    }
    expect(compared).toBe(256);
  });

  it('is zero beside the head and largest near the middle, where the path through the head is longest', () => {
    const size = 41;
    const spacing = 5;
    const grid: PixelGrid = {
      origin: [(-(size - 1) / 2) * spacing, 0, 0],
      rowDirection: [1, 0, 0],
      columnDirection: [0, 0, -1],
      rowSpacing: spacing,
      columnSpacing: spacing,
      rows: 1,
      columns: size,
    };
    const out = new Float32Array(size);
    renderProjection(attenuation, grid, [0, 1, 0], out);
    expect(out[0]).toBe(0); // x = -100 mm, the head is 76 mm half-wide
    expect(out[size - 1]).toBe(0);
    // Through the centre: ~200 mm of tissue at ~0.023/mm plus two skull walls.
    expect(out[20]).toBeGreaterThan(4);
    expect(out[20]).toBeLessThan(6);
  });
});
