import pkcs11js from 'pkcs11js';
import { describe, expect, it } from 'vitest';
import { isSessionGone, pinTriesFromFlags, tokenError } from '../../appliance/src/auth/pkcs11/errors.js';

// The module's own error objects (pkcs11js.Pkcs11Error with the CKR_* code), as a card returns them: codes a
// SoftHSM2 token never produces (it has no PIN counter, and no reader to pull a card from).
const fromModule = (name: string) => new pkcs11js.Pkcs11Error(name, (pkcs11js as unknown as Record<string, number>)[name], 'C_Login');

describe('PKCS#11 failures said plainly', () => {
  it('a locked PIN says how to unlock it; a wrong PIN says how many tries are left', () => {
    const locked = tokenError(fromModule('CKR_PIN_LOCKED'), 'login to the card');
    expect(locked.kind).toBe('pin-locked');
    expect(locked.message).toMatch(/PIN is locked.*PUK/);
    const last = tokenError(fromModule('CKR_PIN_INCORRECT'), 'login to the card', 'final-try');
    expect(last.kind).toBe('wrong-pin');
    expect(last.message).toMatch(/one try left/);
    expect(tokenError(fromModule('CKR_PIN_LEN_RANGE'), 'login').kind).toBe('pin-format');
  });

  it('a pulled card, a closed session or a reset token all read as "removed", and may be reopened', () => {
    for (const name of ['CKR_DEVICE_REMOVED', 'CKR_TOKEN_NOT_PRESENT', 'CKR_SESSION_HANDLE_INVALID', 'CKR_SESSION_CLOSED']) {
      const e = tokenError(fromModule(name), 'signing');
      expect(e.kind, name).toBe('token-removed');
      expect(isSessionGone(fromModule(name)), name).toBe(true);
    }
    expect(isSessionGone(fromModule('CKR_PIN_INCORRECT'))).toBe(false);
  });

  it('an unsupported mechanism names what the box needs', () => {
    const e = tokenError(fromModule('CKR_MECHANISM_INVALID'), 'signing');
    expect(e.kind).toBe('mechanism-unsupported');
    expect(e.message).toMatch(/CKM_SHA256_RSA_PKCS/);
  });

  it('reads the PIN counter flags of CK_TOKEN_INFO', () => {
    expect(pinTriesFromFlags(pkcs11js.CKF_USER_PIN_LOCKED | pkcs11js.CKF_USER_PIN_COUNT_LOW)).toBe('locked');
    expect(pinTriesFromFlags(pkcs11js.CKF_USER_PIN_FINAL_TRY)).toBe('final-try');
    expect(pinTriesFromFlags(pkcs11js.CKF_USER_PIN_COUNT_LOW)).toBe('low');
    expect(pinTriesFromFlags(pkcs11js.CKF_LOGIN_REQUIRED)).toBe('ok');
  });
});
