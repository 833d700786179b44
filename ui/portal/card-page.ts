import { esc, fill, layout } from './html.js';
import { FR } from './strings.js';

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
export function cardPage(cards: CardView[], error?: string): string {
  const card = cards[0];
  const state = `<div id="carte-etat" data-etat="${esc(cardStateSignature(cards))}" hidden></div>`;
  const alert = error ? `<p class="erreur" id="message-erreur" role="alert">${esc(error)}</p>` : '';
  if (!card) return layout(FR.cardTitle, `${state}${alert}<p id="carte-absente" class="consigne">${esc(FR.cardInsert)}</p>`);
  if (!card.holder) return layout(FR.cardTitle, `${state}${alert}<p id="carte-non-cps" class="erreur">${esc(FR.cardNotCps)}</p>`);
  const h = card.holder;
  const warning =
    card.lockedForMs > 0
      ? fill(FR.cardBoxLocked, { minutes: Math.ceil(card.lockedForMs / 60_000) })
      : card.pinTries === 'locked'
        ? FR.cardPinLocked
        : card.pinTries === 'final-try'
          ? FR.cardFinalTry
          : card.pinTries === 'low'
            ? FR.cardTriesLow
            : '';
  const blocked = card.lockedForMs > 0 || card.pinTries === 'locked';
  const digits = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].map((d) => key(d)).join('');
  const pad = blocked
    ? ''
    : `<form method="post" action="/portal/carte/pin" id="form-pin" class="formulaire pin" autocomplete="off">
<input type="hidden" name="carte" value="${esc(card.serial)}">
<label for="pin">${esc(FR.cardPinLabel)}</label>
<input type="password" id="pin" name="pin" readonly inputmode="none" maxlength="8" autocomplete="off" aria-describedby="pin-aide">
<p id="pin-aide">${esc(FR.cardPinHelp)}</p>
<div class="pave" id="pave-pin" role="group" aria-label="${esc(FR.cardPinLabel)}">${digits}<button type="button" class="touche" id="pin-effacer">${esc(FR.cardPinClear)}</button>${key('0')}<button type="submit" class="touche principal" id="pin-valider">${esc(FR.cardPinSubmit)}</button></div>
</form>`;
  return layout(
    FR.cardTitle,
    `${state}${alert}<div class="carte-ecran"><div><section class="identite"><dl id="carte-titulaire">
<dt>${esc(FR.cardHolder)}</dt><dd id="carte-nom">${esc([h.givenName, h.surname.toUpperCase()].filter(Boolean).join(' '))}</dd>
<dt>${esc(FR.cardProfession)}</dt><dd id="carte-profession">${esc(h.profession)}</dd>
<dt>${esc(FR.cardNationalId)}</dt><dd id="carte-identifiant">${esc(h.nationalId)}</dd>
</dl></section>
${warning && warning !== error ? `<p class="alerte" id="carte-alerte" role="status">${esc(warning)}</p>` : ''}
<p class="note">${esc(FR.cardSessionNote)} ${esc(FR.cardNoPscNote)}</p></div>
${pad}</div>`,
  );
}

function key(d: string): string {
  return `<button type="button" class="touche" data-chiffre="${d}" aria-label="${esc(fill(FR.cardPinDigit, { d }))}">${d}</button>`;
}
