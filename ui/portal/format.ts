/** Values as the portal's pages show them (French formats), and the filling of the catalogue's `{name}` templates. */

/** XDS DTM (UTC) as a French local date and time (Europe/Paris). */
export function frenchDateTime(dtm: string | undefined): string {
  if (!dtm) return '';
  const m = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?/.exec(dtm);
  if (!m) return dtm;
  const [, y, mo, d, h, mi] = m;
  if (!mo) return y!;
  if (!d) return `${mo}/${y}`;
  if (!h) return `${d}/${mo}/${y}`;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi ?? 0)));
  return new Intl.DateTimeFormat('fr-FR', { timeZone: 'Europe/Paris', dateStyle: 'short', timeStyle: 'short' }).format(date);
}

/** YYYY-MM-DD as DD/MM/YYYY (INS dates keep their 00 for an unknown day or month). */
export function frenchDate(iso: string | undefined): string {
  const m = iso ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso) : null;
  return m ? `${m[3]}/${m[2]}/${m[1]}` : (iso ?? '');
}

/** Fills `{name}` placeholders of a template from the catalogue (ui/strings). */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (name in values ? String(values[name]) : m));
}

export function megabytes(bytes: number): string {
  return (bytes / 1e6).toLocaleString('fr-FR', { maximumFractionDigits: 1 });
}
