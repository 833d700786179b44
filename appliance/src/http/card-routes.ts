import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { CardReader, PresentCard } from '../auth/card/card-reader.js';
import type { TokenError } from '../auth/pkcs11/errors.js';
import { portalUserFromCard, type Session } from '../auth/session/index.js';
import type { ConsumerService } from '../consumer/index.js';
import { cardPage, cardStateSignature, fill } from '../../../ui/portal/index.js';
import { PORTAL as FR } from '../../../ui/strings/index.js';

type Env = { Variables: { session: Session | undefined } };

export interface CardRoutesDeps {
  consumer: ConsumerService;
  card: CardReader;
  sameOrigin: MiddlewareHandler;
  readForm: (c: Context) => Promise<string | Response>;
}

/** The French sentence for a failed card login (the reader's errors are English, for logs). */
export function cardErrorText(error: TokenError, card?: PresentCard): string {
  switch (error.kind) {
    case 'wrong-pin':
      return [FR.cardWrongPin, error.pinTries === 'final-try' ? FR.cardFinalTry : error.pinTries === 'low' ? FR.cardTriesLow : ''].filter(Boolean).join(' ');
    case 'pin-locked':
      return FR.cardPinLocked;
    case 'pin-attempts-exhausted':
      return fill(FR.cardBoxLocked, { minutes: Math.max(1, Math.ceil((card?.lockedForMs ?? 0) / 60_000)) });
    case 'pin-format':
      return FR.cardPinFormat;
    case 'token-removed':
      return FR.cardRemoved;
    case 'not-found':
      return FR.cardNotCps;
    default:
      return fill(FR.cardUnreadable, { detail: error.message });
  }
}

/**
 * The card login of the box's touch screen, mounted on the kiosk's portal only (loopback): PIN typed on the screen,
 * checked by the card. Never on the public or LAN listeners: a PIN is typed where the card is.
 */
export function mountCardRoutes(app: Hono<Env>, deps: CardRoutesDeps): void {
  const { consumer, card } = deps;
  const show = (c: Context, error?: string, status = 200) => c.html(cardPage(card.cards(), error), status as 200);

  app.get('/portal/carte', (c) => show(c));
  app.get('/portal/carte/etat', (c) => c.json({ signature: cardStateSignature(card.cards()) }));
  app.post('/portal/carte/pin', deps.sameOrigin, async (c) => {
    const body = await deps.readForm(c);
    if (body instanceof Response) return body;
    const form = new URLSearchParams(body);
    const serial = form.get('carte') ?? '';
    const result = await card.login(serial, form.get('pin') ?? '');
    if (!result.ok) {
      const status = result.error.kind === 'wrong-pin' || result.error.kind === 'pin-format' ? 401 : result.error.kind === 'token-removed' ? 409 : 423;
      return show(c, cardErrorText(result.error, result.card), status);
    }
    const { location, setCookie } = consumer.cardLogin(c.get('session'), portalUserFromCard(result.holder, { method: 'cps-card', cardSerial: result.serial }));
    c.header('set-cookie', setCookie);
    return c.redirect(location, 303);
  });
}
