/**
 * Orientation letters on the image's edges from Image Orientation (Patient): the patient direction each edge points
 * to, in the letters Patient Orientation (0020,0020) uses (PS3.3 C.7.6.1.1.1: L/R, A/P, H/F; +x is the patient's
 * left, +y posterior, +z head), strongest component first and a second one when the plane is oblique. Pure.
 */

export interface EdgeLetters {
  left: string;
  right: string;
  top: string;
  bottom: string;
}

/** Components below this share of the vector are left out (an axial slice tilted by a few degrees stays "L"). */
const OBLIQUE_SHARE = 0.25;

export function directionLetters(v: readonly [number, number, number]): string {
  const letters: [number, string][] = [
    [Math.abs(v[0]), v[0] > 0 ? 'L' : 'R'],
    [Math.abs(v[1]), v[1] > 0 ? 'P' : 'A'],
    [Math.abs(v[2]), v[2] > 0 ? 'H' : 'F'],
  ];
  return letters
    .filter(([size]) => size >= OBLIQUE_SHARE)
    .sort((a, b) => b[0] - a[0])
    .slice(0, 2)
    .map(([, letter]) => letter)
    .join('');
}

export function edgeLetters(iop: readonly number[] | undefined): EdgeLetters | undefined {
  if (!iop || iop.length !== 6 || !iop.every(Number.isFinite)) return undefined;
  const row = [iop[0]!, iop[1]!, iop[2]!] as const;
  const column = [iop[3]!, iop[4]!, iop[5]!] as const;
  const neg = (v: readonly [number, number, number]) => [-v[0], -v[1], -v[2]] as const;
  const right = directionLetters(row);
  const bottom = directionLetters(column);
  if (!right || !bottom) return undefined;
  return { right, left: directionLetters(neg(row)), bottom, top: directionLetters(neg(column)) };
}
