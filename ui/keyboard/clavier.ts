/**
 * The touch screen's on-screen keyboard (the kiosk Chromium has none), built on simple-keyboard and bundled by
 * ui/keyboard/build.ts into one IIFE. Any <input> or <textarea> with data-clavier="<layout>" gets it when focused
 * or tapped; layouts: texte, numerique, ae (DICOM AE title, forced uppercase), hote (host, IP, URL), secret.
 *
 * Button names (the data-skbtn attribute of each key, what tests tap):
 *   a character key is named by what it types: "a", "É", "8", "@", "&", "'"; "https://" types the whole prefix;
 *   in the `ae` layout letters are named in lowercase ("d") but shown and typed in uppercase;
 *   {bksp} erase before the caret      {space} space          {enter} next field, or submit on the last one
 *   {shift} capital once (twice: lock)  {sym} digits, symbols   {accents} more accents and rare symbols
 *   {abc} back to letters               {hide} hide the keyboard
 *
 * Only `window.clavier = { hide() }` is exposed (simple-keyboard itself keeps window.SimpleKeyboardInstances).
 */
import { KEYBOARD } from '../strings/keyboard.js';
import { SimpleKeyboard, type KeyboardButtonTheme, type KeyboardLayoutObject } from 'simple-keyboard';

// French labels of the keys (to move to ui/strings/keyboard.ts when the catalogue gets that file).
const LIBELLES = KEYBOARD;

type Disposition = 'texte' | 'numerique' | 'ae' | 'hote' | 'secret';
type Champ = HTMLInputElement | HTMLTextAreaElement;
type Couche = 'lettres' | 'symboles' | 'accents';
type Majuscule = 'non' | 'une' | 'verrou';

const DISPOSITIONS: readonly Disposition[] = ['texte', 'numerique', 'ae', 'hote', 'secret'];
const BAS_TEXTE = "' , {space} . {hide} {enter}";

const LAYOUTS: KeyboardLayoutObject = {
  texte: ['a z e r t y u i o p è', 'q s d f g h j k l m ù', '{shift} w x c v b n é à ç {bksp}', `{sym} {accents} ${BAS_TEXTE}`],
  'texte-maj': ['A Z E R T Y U I O P È', 'Q S D F G H J K L M Ù', '{shift} W X C V B N É À Ç {bksp}', `{sym} {accents} ${BAS_TEXTE}`],
  'texte-sym': ['1 2 3 4 5 6 7 8 9 0 +', '@ # $ % & * ( ) - _ =', '" : ; ! ? / \\ | ~ {bksp}', `{abc} {accents} ${BAS_TEXTE}`],
  'texte-accents': ['â ê î ô û ë ï ü ÿ œ æ', 'Â Ê Î Ô Û Ë Ï Ü Ÿ Œ Æ', '< > [ ] { } ^ ` € « » {bksp}', `{sym} {abc} ${BAS_TEXTE}`],
  // A cash-machine pad: 0 alone under 8 (see clavier.css).
  numerique: ['1 2 3 {bksp}', '4 5 6 {hide}', '7 8 9 {enter}', '0'],
  ae: ['1 2 3 4 5 6 7 8 9 0 {bksp}', 'a z e r t y u i o p _', 'q s d f g h j k l m -', 'w x c v b n . {space} {hide} {enter}'],
  hote: ['1 2 3 4 5 6 7 8 9 0 . : {bksp}', 'a z e r t y u i o p / - _', 'q s d f g h j k l m ? = &', 'w x c v b n @ % https:// {hide} {enter}'],
};

const FONCTIONS = '{bksp} {shift} {sym} {accents} {abc} {hide}';
const THEMES: KeyboardButtonTheme[] = [
  { class: 'touche-fonction', buttons: FONCTIONS },
  { class: 'touche-x15', buttons: FONCTIONS },
  { class: 'touche-entree', buttons: '{enter}' },
  { class: 'touche-espace', buttons: '{space}' },
  { class: 'touche-masquer', buttons: '{hide}' },
  { class: 'touche-prefixe', buttons: 'https://' },
];
const ATTRIBUTS = [
  { attribute: 'role', value: 'button' },
  { attribute: 'aria-label', value: LIBELLES.effacerAria, buttons: '{bksp}' },
  { attribute: 'aria-label', value: LIBELLES.espaceAria, buttons: '{space}' },
  { attribute: 'aria-label', value: LIBELLES.majusculeAria, buttons: '{shift}' },
  { attribute: 'aria-label', value: LIBELLES.symbolesAria, buttons: '{sym}' },
  { attribute: 'aria-label', value: LIBELLES.accentsAria, buttons: '{accents}' },
  { attribute: 'aria-label', value: LIBELLES.lettresAria, buttons: '{abc}' },
  { attribute: 'aria-label', value: LIBELLES.masquerAria, buttons: '{hide}' },
];

// simple-keyboard writes labels as HTML: the three characters that need it are escaped.
const AFFICHAGE_BASE: Record<string, string> = {
  '{bksp}': LIBELLES.effacer,
  '{space}': LIBELLES.espace,
  '{sym}': LIBELLES.symboles,
  '{accents}': LIBELLES.accents,
  '{abc}': LIBELLES.lettres,
  '{hide}': LIBELLES.masquer,
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
};
const LETTRES_AE = Object.fromEntries([...'abcdefghijklmnopqrstuvwxyz'].map((l) => [l, l.toUpperCase()]));

function estChampClavier(cible: EventTarget | null): cible is Champ {
  return (cible instanceof HTMLInputElement || cible instanceof HTMLTextAreaElement) && cible.hasAttribute('data-clavier');
}

function utilisable(champ: Champ): boolean {
  return !champ.disabled && !champ.readOnly && champ.type !== 'hidden' && champ.getClientRects().length > 0;
}

function dispositionDe(champ: Champ): Disposition {
  const nom = champ.getAttribute('data-clavier') ?? '';
  if ((DISPOSITIONS as readonly string[]).includes(nom)) return nom as Disposition;
  console.warn(`clavier: unknown data-clavier="${nom}" on field "${champ.name || champ.id}", using "texte"`);
  return 'texte';
}

function selectionDe(champ: Champ): { debut: number; fin: number } | null {
  // Inputs of type number or email have no selection (null, or a throwing getter in old engines).
  try {
    if (typeof champ.selectionStart !== 'number') return null;
    return { debut: champ.selectionStart, fin: champ.selectionEnd ?? champ.selectionStart };
  } catch {
    return null;
  }
}

function placerCurseur(champ: Champ, position: number): void {
  if (selectionDe(champ) !== null) champ.setSelectionRange(position, position);
}

function champSuivant(champ: Champ): Champ | null {
  const formulaire = champ.form;
  if (!formulaire) return null;
  const champs = Array.from(formulaire.elements).filter((e): e is Champ => estChampClavier(e) && (e === champ || utilisable(e)));
  return champs[champs.indexOf(champ) + 1] ?? null;
}

function demarrer(): void {
  const conteneur = document.createElement('div');
  conteneur.id = 'clavier-ecran';
  conteneur.className = 'clavier';
  conteneur.hidden = true;
  conteneur.setAttribute('role', 'group');
  conteneur.setAttribute('aria-label', LIBELLES.clavier);
  const racine = document.createElement('div');
  racine.className = 'simple-keyboard';
  conteneur.append(racine);
  document.body.append(conteneur);

  let champ: Champ | null = null;
  let disposition: Disposition = 'texte';
  let couche: Couche = 'lettres';
  let majuscule: Majuscule = 'non';
  // The body's own bottom padding, kept while the keyboard adds its height to it.
  let margeOrigine: { inline: string; px: number } | null = null;

  const clavier = new SimpleKeyboard(racine, {
    layout: LAYOUTS,
    layoutName: 'texte',
    display: AFFICHAGE_BASE,
    theme: 'hg-theme-default',
    buttonTheme: THEMES,
    buttonAttributes: ATTRIBUTS,
    preventMouseDownDefault: true,
    // A press held during a stall of the box must not type the key again.
    disableButtonHold: true,
    beforeInputUpdate: () => synchroniser(),
    onKeyPress: (bouton) => touche(bouton),
    onChange: (saisie) => ecrire(saisie),
  });

  // Keys never take the focus from the field (mouse), and a tap on a key makes no click on the page behind it
  // once the keyboard hides (touch).
  conteneur.addEventListener('mousedown', (e) => e.preventDefault());
  conteneur.addEventListener('touchstart', (e) => e.preventDefault(), { passive: false });
  conteneur.addEventListener('touchend', (e) => e.preventDefault(), { passive: false });

  function nomDeLayout(): string {
    if (disposition === 'texte' || disposition === 'secret') {
      if (couche === 'symboles') return 'texte-sym';
      if (couche === 'accents') return 'texte-accents';
      return majuscule === 'non' ? 'texte' : 'texte-maj';
    }
    return disposition;
  }

  function rendre(): void {
    const actuel = champ;
    const display: Record<string, string> = {
      ...AFFICHAGE_BASE,
      ...(disposition === 'ae' ? LETTRES_AE : {}),
      '{enter}': actuel && champSuivant(actuel) ? LIBELLES.suivant : LIBELLES.valider,
      '{shift}': majuscule === 'verrou' ? LIBELLES.verrouMajuscules : LIBELLES.majuscule,
    };
    const longueur = actuel && actuel.maxLength > 0 ? actuel.maxLength : undefined;
    clavier.setOptions({
      layoutName: nomDeLayout(),
      display,
      maxLength: longueur,
      buttonTheme: majuscule === 'non' ? THEMES : [...THEMES, { class: 'touche-enclenchee', buttons: '{shift}' }],
    });
    conteneur.dataset.disposition = disposition;
  }

  /** The field is the truth: what a hardware keyboard or a page script did to it is taken before each key. */
  function synchroniser(): void {
    if (!champ) return;
    clavier.setInput(champ.value);
    const selection = selectionDe(champ);
    clavier.setCaretPosition(selection ? selection.debut : null, selection ? selection.fin : null);
  }

  function ecrire(saisie: string): void {
    const actuel = champ;
    if (!actuel) return;
    const valeur = disposition === 'ae' ? saisie.toUpperCase() : saisie;
    if (actuel.maxLength >= 0 && valeur.length > actuel.maxLength && valeur.length > actuel.value.length) {
      clavier.setInput(actuel.value);
      return;
    }
    if (valeur !== saisie) clavier.setInput(valeur);
    if (valeur === actuel.value) return;
    actuel.value = valeur;
    placerCurseur(actuel, clavier.getCaretPosition() ?? valeur.length);
    actuel.dispatchEvent(new Event('input', { bubbles: true }));
  }

  function touche(bouton: string): void {
    switch (bouton) {
      case '{shift}':
        majuscule = majuscule === 'non' ? 'une' : majuscule === 'une' ? 'verrou' : 'non';
        couche = 'lettres';
        return rendre();
      case '{sym}':
        couche = 'symboles';
        return rendre();
      case '{accents}':
        couche = 'accents';
        return rendre();
      case '{abc}':
        couche = 'lettres';
        return rendre();
      // After simple-keyboard has finished with this press: the field may change or the page go away.
      case '{enter}':
        setTimeout(valider, 0);
        return;
      case '{hide}':
        setTimeout(() => masquer({ flou: true, margeTout: true }), 0);
        return;
      default:
        if (majuscule === 'une' && !bouton.startsWith('{')) {
          majuscule = 'non';
          rendre();
        }
    }
  }

  function valider(): void {
    const actuel = champ;
    if (!actuel) return;
    const suivant = champSuivant(actuel);
    if (suivant) {
      suivant.focus({ preventScroll: true });
      placerCurseur(suivant, suivant.value.length);
      if (champ !== suivant) montrer(suivant);
      return;
    }
    const formulaire = actuel.form;
    masquer({ flou: false, margeTout: true });
    formulaire?.requestSubmit();
  }

  function montrer(nouveau: Champ): void {
    if (!utilisable(nouveau)) return;
    nouveau.setAttribute('inputmode', 'none');
    if (nouveau !== champ) {
      couche = 'lettres';
      majuscule = 'non';
    }
    champ = nouveau;
    disposition = dispositionDe(nouveau);
    synchroniser();
    rendre();
    conteneur.hidden = false;
    ajuster();
  }

  /** Bottom padding as tall as the keyboard, and the field scrolled to show above it. */
  function ajuster(): void {
    const actuel = champ;
    if (!actuel || conteneur.hidden) return;
    const hauteur = conteneur.getBoundingClientRect().height;
    if (margeOrigine === null) {
      margeOrigine = { inline: document.body.style.paddingBottom, px: parseFloat(getComputedStyle(document.body).paddingBottom) || 0 };
    }
    document.body.style.paddingBottom = `${margeOrigine.px + hauteur}px`;
    actuel.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    const marge = 8;
    const haut = conteneur.getBoundingClientRect().top;
    const boite = actuel.getBoundingClientRect();
    if (boite.bottom > haut - marge) window.scrollBy({ top: boite.bottom - (haut - marge), behavior: 'instant' });
    else if (boite.top < marge) window.scrollBy({ top: boite.top - marge, behavior: 'instant' });
  }

  function rendreMarge(): void {
    if (margeOrigine === null || !conteneur.hidden) return;
    document.body.style.paddingBottom = margeOrigine.inline;
    margeOrigine = null;
  }

  /**
   * margeTout: give the padding back at once (a key of the keyboard was pressed: nothing of the page is under the
   * finger). Otherwise only after the tap that hid it, so the page does not move under that tap.
   */
  function masquer(options: { flou: boolean; margeTout: boolean }): void {
    if (conteneur.hidden && champ === null) return;
    conteneur.hidden = true;
    clavier.clearInput();
    const actuel = champ;
    champ = null;
    if (options.margeTout) rendreMarge();
    if (options.flou && actuel && document.activeElement === actuel) actuel.blur();
  }

  document.addEventListener('focusin', (e) => {
    if (estChampClavier(e.target)) montrer(e.target);
    else if (!(e.target instanceof Node && conteneur.contains(e.target))) masquer({ flou: false, margeTout: false });
  });
  // A tap into the focused field (after "Masquer", or to resynchronise).
  document.addEventListener('click', (e) => {
    if (estChampClavier(e.target)) montrer(e.target);
    else setTimeout(rendreMarge, 0);
  });
  document.addEventListener(
    'pointerdown',
    (e) => {
      if (conteneur.hidden || !(e.target instanceof Node)) return;
      if (conteneur.contains(e.target) || estChampClavier(e.target)) return;
      masquer({ flou: false, margeTout: false });
    },
    true,
  );
  document.addEventListener('pointercancel', () => setTimeout(rendreMarge, 0), true);
  // A hardware keyboard types lowercase into an AE title: the field keeps it uppercase.
  document.addEventListener('input', (e) => {
    const cible = e.target;
    if (!e.isTrusted || !estChampClavier(cible) || dispositionDe(cible) !== 'ae') return;
    const haut = cible.value.toUpperCase();
    if (haut === cible.value) return;
    const selection = selectionDe(cible);
    cible.value = haut;
    if (selection) cible.setSelectionRange(selection.debut, selection.fin);
  });
  window.addEventListener('resize', ajuster);

  document.querySelectorAll('input[data-clavier], textarea[data-clavier]').forEach((c) => c.setAttribute('inputmode', 'none'));
  if (estChampClavier(document.activeElement)) montrer(document.activeElement);

  (window as unknown as { clavier: { hide(): void } }).clavier = { hide: () => masquer({ flou: true, margeTout: true }) };
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', demarrer, { once: true });
else demarrer();
