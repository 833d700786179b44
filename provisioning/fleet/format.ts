import type { BoxHealth } from './health.js';

/** A plain-text table, columns sized to their content. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

const dash = (v: unknown) => (v === null || v === undefined ? '-' : String(v));

export function healthTable(boxes: BoxHealth[]): string {
  return table(
    ['NAME', 'UUID', 'STATUS', 'RELEASE', 'HEALTH', 'QUEUE', 'DEAD', 'LAST PUBLICATION', 'CERT EXPIRY', 'DISK FREE MB', 'VERSION'],
    boxes.map((b) => [b.name, b.uuid.slice(0, 7), b.online ? b.status : `${b.status} (offline)`, dash(b.release?.slice(0, 7)), dash(b.health), dash(b.queue), dash(b.dead), dash(b.lastPublication), dash(b.certExpiry), dash(b.diskFreeMb), dash(b.version)]),
  );
}
