import type { FC } from 'hono/jsx';
import { SETUP } from '../strings/setup.js';
import { Outcome } from './outcome.js';
import { Choice, Field } from './fields.js';
import type { Csrf } from './layout.js';
import type { NetworkView } from '../../appliance/src/setup/probe-bindings.js';
import type { Hl7Exchange } from '../../appliance/src/source/hl7-exchange-log.js';

const S = SETUP.steps;

export type { NetworkView } from '../../appliance/src/setup/probe-bindings.js';

export const NetworkFacts: FC<{ net: NetworkView }> = ({ net }) => (
  <section class="faits" id="faits-reseau">
    <dl>
      <dt>{S.reseau.hostname}</dt>
      <dd id="nom-hote">{net.hostname}</dd>
      <dt>{S.reseau.addresses}</dt>
      <dd id="adresses">{net.addresses.join(', ') || S.reseau.unknown}</dd>
      <dt>{S.reseau.gateway}</dt>
      <dd>{net.gateway || S.reseau.unknown}</dd>
      <dt>{S.reseau.dns}</dt>
      <dd>{net.dns.join(', ') || S.reseau.unknown}</dd>
      <dt>{S.reseau.clock}</dt>
      <dd id="heure">
        {new Date(net.now).toLocaleString('fr-FR', { timeZone: 'Europe/Paris' })} ({net.timezone})
      </dd>
    </dl>
    <p id="horloge" class={net.ntpSynchronized === true ? 'bon' : 'alerte'}>
      {net.ntpSynchronized === true ? S.reseau.clockSynced : net.ntpSynchronized === false ? S.reseau.clockNotSynced : S.reseau.clockUnknown}
    </p>
  </section>
);

export interface Declaration {
  aeTitle: string;
  address: string;
  port: number;
}

export const BoxDeclaration: FC<{ d: Declaration }> = ({ d }) => (
  <dl class="declaration" id="declaration">
    <dt>{S['pacs-retour'].declareAe}</dt>
    <dd id="declarer-ae">{d.aeTitle}</dd>
    <dt>{S['pacs-retour'].declareAddress}</dt>
    <dd id="declarer-adresse">{d.address}</dd>
    <dt>{S['pacs-retour'].declarePort}</dt>
    <dd id="declarer-port">{d.port}</dd>
  </dl>
);

interface ReverseFacts {
  study?: { studyInstanceUid?: string; studyDate?: string; modalities?: string[] };
  move?: unknown;
  get?: unknown;
  chosen?: string;
}

export const ReverseResult: FC<{ outcome: unknown }> = ({ outcome }) => {
  const o = (outcome ?? {}) as { reverse?: { ok: boolean; facts?: ReverseFacts }; qido?: unknown };
  if (!o.reverse) return <Outcome id="resultat-retour" outcome={undefined} />;
  const f = o.reverse.facts ?? {};
  return (
    <section class="resultats">
      <Outcome id="resultat-retour" outcome={o.reverse} />
      {f.study ? (
        <p class="etude-test">
          {S['pacs-retour'].studyFound} : {f.study.studyDate ?? ''} {(f.study.modalities ?? []).join(' ')} <code>{f.study.studyInstanceUid}</code>
        </p>
      ) : null}
      {f.get ? <Outcome id="resultat-get" label={S['pacs-retour'].getResult} outcome={f.get} /> : null}
      {f.move ? <Outcome id="resultat-move" label={S['pacs-retour'].moveResult} outcome={f.move} /> : null}
      {f.chosen && f.chosen !== 'none' ? (
        <p id="methode-choisie" data-methode={f.chosen}>
          {S['pacs-retour'].chosen} : <strong>{f.chosen === 'C-GET' ? S['pacs-retour'].methodGet : S['pacs-retour'].methodMove}</strong>
        </p>
      ) : null}
      {o.qido ? <Outcome id="resultat-qido" label={S['pacs-retour'].qidoResult} outcome={o.qido} /> : null}
    </section>
  );
};

export const RetrieveChoice: FC<{ value?: string; error?: string }> = ({ value, error }) => (
  <Choice
    name="retrieve"
    label={S['pacs-retour'].method}
    value={value}
    error={error}
    options={[
      { value: 'C-GET', label: S['pacs-retour'].methodGet },
      { value: 'C-MOVE', label: S['pacs-retour'].methodMove },
    ]}
  />
);

export type ExchangeView = Hl7Exchange;

/** The RIS's messages since the screen opened (refreshed by setup.js without reloading). */
export const RisMessages: FC<{ exchanges: ExchangeView[] }> = ({ exchanges }) => {
  const last = exchanges[exchanges.length - 1];
  if (!last) return <p class="attente" id="ris-attente">{S.ris.waiting}</p>;
  return (
    <section class="message-recu" id="ris-message" data-ack={last.ack.code}>
      <h2>{S.ris.received}</h2>
      <dl>
        <dt>{S.ris.sender}</dt>
        <dd id="ris-emetteur">{last.sender ?? '—'}</dd>
        <dt>{S.ris.from}</dt>
        <dd id="ris-adresse">{last.remoteAddress}</dd>
        <dt>{S.ris.messageType}</dt>
        <dd id="ris-type">{last.messageType ?? '—'}</dd>
        {last.read ? (
          <>
            <dt>{S.ris.patient}</dt>
            <dd id="ris-patient">{[last.read.patientName, last.read.ins].filter(Boolean).join(' — ')}</dd>
            <dt>{S.ris.accession}</dt>
            <dd>{last.read.accession ?? '—'}</dd>
            <dt>{S.ris.study}</dt>
            <dd>
              <code>{last.read.studyInstanceUid ?? '—'}</code>
            </dd>
          </>
        ) : null}
        {last.unreadable ? (
          <>
            <dt>{S.ris.unreadable}</dt>
            <dd>{last.unreadable}</dd>
          </>
        ) : null}
        <dt>{S.ris.ack}</dt>
        <dd id="ris-ack">
          {S.ris.ackCodes[last.ack.code] ?? last.ack.code}
          {last.ack.text ? ` (${last.ack.text})` : ''}
        </dd>
      </dl>
      <label class="option">
        <input type="checkbox" name="risAddress" value={last.remoteAddress} id="ris-restreindre" checked />
        <span>
          {S.ris.restrict} ({last.remoteAddress})
        </span>
      </label>
    </section>
  );
};

export interface CertificateChoices {
  usbFiles: { name: string; size: number }[];
  p12File?: string;
  caFile?: string;
  canUpload: boolean;
  csrf: Csrf;
}

/** Files on the USB stick, each a "Utiliser" button (kind:name), then what was retained. */
export const CertificateFiles: FC<{ c: CertificateChoices }> = ({ c }) => (
  <section class="certificats">
    <h2>{S.certificat.fromUsb}</h2>
    {c.usbFiles.length === 0 ? <p id="usb-vide">{S.certificat.noUsb}</p> : null}
    <ul class="fichiers-usb">
      {c.usbFiles.map((f) => {
        const kind = /\.(p12|pfx)$/i.test(f.name) ? 'p12' : 'ca';
        return (
          <li>
            <button type="submit" name="usb" value={`${kind}:${f.name}`} class="secondaire" data-fichier={f.name}>
              {S.certificat.use} {f.name}
            </button>
          </li>
        );
      })}
    </ul>
    <dl>
      <dt>{S.certificat.p12}</dt>
      <dd id="p12-retenu">{c.p12File ? c.p12File.split('/').pop() : S.certificat.none}</dd>
      <dt>{S.certificat.ca}</dt>
      <dd id="ca-retenu">{c.caFile ? c.caFile.split('/').pop() : S.certificat.none}</dd>
    </dl>
  </section>
);

export const CertificateUpload: FC<{ csrf: Csrf }> = ({ csrf }) => (
  <form method="post" action="/setup/certificat/envoi" enctype="multipart/form-data" class="envoi" id="formulaire-envoi">
    <input type="hidden" name={csrf.name} value={csrf.token} />
    <h2>{S.certificat.upload}</h2>
    <label>
      {S.certificat.p12} <input type="file" name="p12" accept=".p12,.pfx" />
    </label>
    <label>
      {S.certificat.ca} <input type="file" name="ca" accept=".pem,.crt,.cer" />
    </label>
    <button type="submit" class="secondaire">
      {S.certificat.uploadButton}
    </button>
  </form>
);

interface CertificateFacts {
  chain?: 'trusted' | 'not-checked';
  subject?: string;
  issuer?: string;
  notAfter?: string;
  daysLeft?: number;
  structureId?: string;
}

export const CertificateResult: FC<{ outcome: unknown; structureId?: string }> = ({ outcome, structureId }) => {
  const f = ((outcome as { facts?: CertificateFacts } | undefined)?.facts ?? {}) as CertificateFacts;
  return (
    <section>
      <Outcome id="resultat-certificat" outcome={outcome} />
      {f.subject ? (
        <dl class="faits" id="faits-certificat">
          <dt>{S.certificat.subject}</dt>
          <dd id="certificat-titulaire">{f.subject}</dd>
          <dt>{S.certificat.issuer}</dt>
          <dd>{f.issuer}</dd>
          <dt>{S.certificat.expiry}</dt>
          <dd id="certificat-expiration">
            {f.notAfter ? new Date(f.notAfter).toLocaleDateString('fr-FR') : ''} {typeof f.daysLeft === 'number' ? `(${S.certificat.daysLeft(f.daysLeft)})` : ''}
          </dd>
          <dt>{S.certificat.chain}</dt>
          <dd id="certificat-chaine">{f.chain === 'trusted' ? S.certificat.chainOk : S.certificat.chainNotChecked}</dd>
        </dl>
      ) : null}
      {f.structureId && structureId && f.structureId !== structureId ? <p class="alerte">{S.certificat.structureMismatch(f.structureId, structureId)}</p> : null}
    </section>
  );
};

export const DmpChoice: FC<{ answers: Record<string, string>; errors: Record<string, string> }> = ({ answers, errors }) => (
  <>
    <Choice
      name="environment"
      label={S.dmp.environment}
      value={answers.environment}
      error={errors.environment}
      options={[
        { value: 'test', label: S.dmp.test },
        { value: 'autre', label: S.dmp.autre },
      ]}
    />
    <Field spec={{ name: 'baseUrl', label: S.dmp.baseUrl, keyboard: 'hote', maxLength: 2048 }} value={answers.baseUrl} error={errors.baseUrl} />
  </>
);

export const PscChoice: FC<{ answers: Record<string, string>; errors: Record<string, string>; redirectUri: string }> = ({ answers, errors, redirectUri }) => (
  <>
    <Choice
      name="environment"
      label={S.psc.environment}
      value={answers.environment}
      error={errors.environment}
      options={[
        { value: 'bas', label: S.psc.bas },
        { value: 'production', label: S.psc.production },
        { value: 'autre', label: S.psc.autre },
      ]}
    />
    <Field spec={{ name: 'issuer', label: S.psc.issuer, keyboard: 'hote', maxLength: 2048 }} value={answers.issuer} error={errors.issuer} />
    <p class="faits">
      {S.psc.redirect} : <code id="psc-retour">{redirectUri}</code>
    </p>
  </>
);

export const PinFields: FC<{ errors: Record<string, string>; alreadySet: boolean }> = ({ errors, alreadySet }) => (
  <>
    {alreadySet ? <p id="pin-deja">{S.pin.alreadySet}</p> : null}
    <Field spec={{ name: 'pin', label: S.pin.pin, keyboard: 'numerique', maxLength: 12, masked: true }} error={errors.pin} />
    <Field spec={{ name: 'pinConfirmation', label: S.pin.confirm, keyboard: 'numerique', maxLength: 12, masked: true }} error={errors.pinConfirmation} />
  </>
);
