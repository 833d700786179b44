/**
 * Window presets (centre / width in HU) radiologists expect on a CT. Values are the usual ones (brain 40/80,
 * bone 600/2800 as in the synthetic CT's own bone window, lung −600/1500, abdomen 40/400).
 */
export type PresetName = 'cerveau' | 'os' | 'poumon' | 'abdomen';

export interface WindowPreset {
  center: number;
  width: number;
}

export const WINDOW_PRESETS: Readonly<Record<PresetName, WindowPreset>> = {
  cerveau: { center: 40, width: 80 },
  os: { center: 600, width: 2800 },
  poumon: { center: -600, width: 1500 },
  abdomen: { center: 40, width: 400 },
};

export const PRESET_ORDER: readonly PresetName[] = ['cerveau', 'os', 'poumon', 'abdomen'];

export function isPresetName(value: string): value is PresetName {
  return Object.prototype.hasOwnProperty.call(WINDOW_PRESETS, value);
}

/** PS3.3 C.11.2.1.2.1 linear VOI function: the values mapped to black and to white. */
export function voiRange(p: WindowPreset): { lower: number; upper: number } {
  return { lower: p.center - 0.5 - (p.width - 1) / 2, upper: p.center - 0.5 + (p.width - 1) / 2 };
}

export function windowOf(range: { lower: number; upper: number }): WindowPreset {
  return { center: Math.round((range.lower + range.upper) / 2 + 0.5), width: Math.round(range.upper - range.lower + 1) };
}

/** The presets worth offering for a series: Hounsfield windows mean something on CT only. */
export function presetsFor(modality: string | undefined): readonly PresetName[] {
  return modality?.trim().toUpperCase() === 'CT' ? PRESET_ORDER : [];
}
