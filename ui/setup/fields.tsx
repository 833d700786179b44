import type { FC } from 'hono/jsx';
import { SETUP } from '../strings/setup.js';

export type KeyboardLayout = 'texte' | 'numerique' | 'ae' | 'hote' | 'secret';

export interface FieldSpec {
  name: string;
  label: string;
  keyboard: KeyboardLayout;
  maxLength?: number;
  help?: string;
  /** Typed but not shown (PIN, password). */
  masked?: boolean;
}

/** One labelled field typed on the on-screen keyboard (data-clavier names its layout), its error under it. */
export const Field: FC<{ spec: FieldSpec; value?: string; error?: string }> = ({ spec, value, error }) => (
  <div class={`champ${error ? ' en-erreur' : ''}`}>
    <label for={`champ-${spec.name}`}>{spec.label}</label>
    <input
      id={`champ-${spec.name}`}
      name={spec.name}
      type={spec.masked || spec.keyboard === 'secret' ? 'password' : 'text'}
      value={value ?? ''}
      data-clavier={spec.keyboard}
      inputmode="none"
      autocomplete="off"
      autocapitalize="off"
      spellcheck={false}
      maxlength={spec.maxLength ?? 256}
      aria-invalid={error ? 'true' : undefined}
      aria-describedby={error ? `erreur-${spec.name}` : undefined}
    />
    {spec.help ? <p class="aide">{spec.help}</p> : null}
    {error ? (
      <p class="erreur" id={`erreur-${spec.name}`} role="alert">
        {SETUP.fields[error] ?? error}
      </p>
    ) : null}
  </div>
);

/** A choice among a few options, as big touch buttons (radio inputs). */
export const Choice: FC<{ name: string; label: string; options: { value: string; label: string }[]; value?: string; error?: string }> = ({ name, label, options, value, error }) => (
  <fieldset class={`choix${error ? ' en-erreur' : ''}`}>
    <legend>{label}</legend>
    {options.map((o) => (
      <label class="option">
        <input type="radio" name={name} value={o.value} checked={value === o.value} id={`choix-${name}-${o.value}`} />
        <span>{o.label}</span>
      </label>
    ))}
    {error ? (
      <p class="erreur" role="alert">
        {SETUP.fields[error] ?? error}
      </p>
    ) : null}
  </fieldset>
);

const S = SETUP.steps;
export const STEP_FIELDS: Record<string, FieldSpec[]> = {
  identite: [
    { name: 'structureName', label: S.identite.structureName, keyboard: 'texte', maxLength: 80 },
    { name: 'structureId', label: S.identite.structureId, keyboard: 'numerique', maxLength: 15 },
    { name: 'boxName', label: S.identite.boxName, keyboard: 'texte', maxLength: 64 },
  ],
  reseau: [{ name: 'publicBaseUrl', label: S.reseau.publicBaseUrl, keyboard: 'hote', maxLength: 2048, help: S.reseau.publicBaseUrlHelp }],
  pacs: [
    { name: 'pacsAeTitle', label: S.pacs.pacsAeTitle, keyboard: 'ae', maxLength: 16 },
    { name: 'pacsHost', label: S.pacs.pacsHost, keyboard: 'hote', maxLength: 253 },
    { name: 'pacsPort', label: S.pacs.pacsPort, keyboard: 'numerique', maxLength: 5 },
    { name: 'boxAeTitle', label: S.pacs.boxAeTitle, keyboard: 'ae', maxLength: 16 },
    { name: 'dicomwebUrl', label: S.pacs.dicomwebUrl, keyboard: 'hote', maxLength: 2048 },
  ],
  psc: [
    { name: 'clientId', label: S.psc.clientId, keyboard: 'hote', maxLength: 256 },
    { name: 'clientSecret', label: S.psc.clientSecret, keyboard: 'secret', maxLength: 512 },
  ],
};
