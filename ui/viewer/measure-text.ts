import { formatMillimetres } from './format.js';

/** Measurement labels in French (decimal comma), from the statistics Cornerstone's tools keep per viewport. */

type Stats = Record<string, unknown>;
interface AnnotationData {
  cachedStats?: Record<string, Stats | undefined>;
}

const decimal = (v: number, digits = 1) => v.toFixed(digits).replace('.', ',');
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Pixels when the image carries no spacing. */
export function lengthTextLines(data: AnnotationData, targetId: string): string[] {
  const stats = data.cachedStats?.[targetId];
  if (!stats || !isNum(stats.length)) return [];
  return stats.unit === 'mm' ? [formatMillimetres(stats.length)] : [`${decimal(stats.length)} ${String(stats.unit ?? 'px')}`];
}

export function angleTextLines(data: AnnotationData, targetId: string): string[] {
  const angle = data.cachedStats?.[targetId]?.angle;
  return isNum(angle) ? [`${decimal(angle)}°`] : [];
}

/** Area, then mean ± standard deviation, min and max in the modality's unit (HU on a CT). */
export function ellipseTextLines(data: AnnotationData, targetId: string): string[] {
  const s = data.cachedStats?.[targetId];
  if (!s) return [];
  const unit = typeof s.modalityUnit === 'string' && s.modalityUnit !== 'raw' ? ` ${s.modalityUnit}` : '';
  const lines: string[] = [];
  if (isNum(s.area)) lines.push(`Surface ${decimal(s.area)} ${String(s.areaUnit ?? 'px²')}`);
  if (isNum(s.mean)) lines.push(`Moyenne ${decimal(s.mean)}${unit}${isNum(s.stdDev) ? ` ± ${decimal(s.stdDev)}` : ''}`);
  if (isNum(s.min) && isNum(s.max)) lines.push(`Min ${decimal(s.min)} / Max ${decimal(s.max)}${unit}`);
  return lines;
}
