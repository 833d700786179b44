import { FR } from '../strings/portal.js';
import { fill } from './format.js';
import { Layout } from './layout.js';

/** A card in the box's reader as the page shows it (auth/card/card-reader.ts PresentCard, structurally). */
export interface CardView {
  serial: string;
  holder?: { nationalId: string; surname: string; givenName: string; profession: string };
  pinTries: 'ok' | 'low' | 'final-try' | 'locked';
  lockedForMs: number;
}

/**
 * Digest of what the page shows: the page's script reloads when /portal/carte/etat says another — a card inserted,
 * removed or refused. Not the PIN counter: a reload while the holder types would lose the digits.
 */
export function cardStateSignature(cards: CardView[]): string {
  return cards.map((c) => `${c.serial}:${c.holder ? 1 : 0}:${c.pinTries === 'locked' || c.lockedForMs > 0 ? 1 : 0}`).join('|') || 'vide';
}

/** The touch screen's card login: the holder read from the card, an on-screen PIN pad (no keyboard on a kiosk). */
export function CardPage({ cards, error }: { cards: CardView[]; error?: string }) {
  const card = cards[0];
  return (
    <Layout title={FR.cardTitle}>
      <div id="carte-etat" data-etat={cardStateSignature(cards)} hidden />
      {error && (
        <p class="erreur" id="message-erreur" role="alert">
          {error}
        </p>
      )}
      {!card ? (
        <p id="carte-absente" class="consigne">
          {FR.cardInsert}
        </p>
      ) : !card.holder ? (
        <p id="carte-non-cps" class="erreur">
          {FR.cardNotCps}
        </p>
      ) : (
        <HolderScreen card={card} holder={card.holder} error={error} />
      )}
    </Layout>
  );
}
export const cardPage = (cards: CardView[], error?: string) => <CardPage cards={cards} error={error} />;

function HolderScreen({ card, holder: h, error }: { card: CardView; holder: NonNullable<CardView['holder']>; error?: string }) {
  const warning = pinWarning(card);
  const blocked = card.lockedForMs > 0 || card.pinTries === 'locked';
  return (
    <div class="carte-ecran">
      <div>
        <section class="identite">
          <dl id="carte-titulaire">
            <dt>{FR.cardHolder}</dt>
            <dd id="carte-nom">{[h.givenName, h.surname.toUpperCase()].filter(Boolean).join(' ')}</dd>
            <dt>{FR.cardProfession}</dt>
            <dd id="carte-profession">{h.profession}</dd>
            <dt>{FR.cardNationalId}</dt>
            <dd id="carte-identifiant">{h.nationalId}</dd>
          </dl>
        </section>
        {warning && warning !== error && (
          <p class="alerte" id="carte-alerte" role="status">
            {warning}
          </p>
        )}
        <p class="note">{`${FR.cardSessionNote} ${FR.cardNoPscNote}`}</p>
      </div>
      {!blocked && <PinPad serial={card.serial} />}
    </div>
  );
}

function pinWarning(card: CardView): string {
  if (card.lockedForMs > 0) return fill(FR.cardBoxLocked, { minutes: Math.ceil(card.lockedForMs / 60_000) });
  if (card.pinTries === 'locked') return FR.cardPinLocked;
  if (card.pinTries === 'final-try') return FR.cardFinalTry;
  if (card.pinTries === 'low') return FR.cardTriesLow;
  return '';
}

function PinPad({ serial }: { serial: string }) {
  return (
    <form method="post" action="/portal/carte/pin" id="form-pin" class="formulaire pin" autocomplete="off">
      <input type="hidden" name="carte" value={serial} />
      <label for="pin">{FR.cardPinLabel}</label>
      <input type="password" id="pin" name="pin" readonly inputmode="none" maxlength={8} autocomplete="off" aria-describedby="pin-aide" />
      <p id="pin-aide">{FR.cardPinHelp}</p>
      <div class="pave" id="pave-pin" role="group" aria-label={FR.cardPinLabel}>
        {['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => (
          <Key digit={d} />
        ))}
        <button type="button" class="touche" id="pin-effacer">{FR.cardPinClear}</button>
        <Key digit="0" />
        <button type="submit" class="touche principal" id="pin-valider">{FR.cardPinSubmit}</button>
      </div>
    </form>
  );
}

function Key({ digit }: { digit: string }) {
  return (
    <button type="button" class="touche" data-chiffre={digit} aria-label={fill(FR.cardPinDigit, { d: digit })}>
      {digit}
    </button>
  );
}
