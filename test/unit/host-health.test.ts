import { describe, expect, it } from 'vitest';
import { parseThrottled } from '../../appliance/src/device/host-health.js';

// `vcgencmd get_throttled` as Raspberry Pi firmware prints it (bits documented with the command).
describe('Raspberry Pi throttling flags', () => {
  it('reads what is happening now and what happened since boot', () => {
    expect(parseThrottled('throttled=0x50005\n')).toEqual({
      raw: '0x50005',
      underVoltageNow: true,
      frequencyCappedNow: false,
      throttledNow: true,
      softTemperatureLimitNow: false,
      underVoltageSinceBoot: true,
      frequencyCappedSinceBoot: false,
      throttledSinceBoot: true,
      softTemperatureLimitSinceBoot: false,
    });
    expect(parseThrottled('throttled=0x0')).toMatchObject({ underVoltageNow: false, throttledSinceBoot: false });
    expect(parseThrottled('throttled=0x80008')).toMatchObject({ softTemperatureLimitNow: true, softTemperatureLimitSinceBoot: true, throttledNow: false });
  });

  it('answers nothing for output it does not know', () => {
    expect(parseThrottled('VCHI initialization failed')).toBeUndefined();
    expect(parseThrottled('')).toBeUndefined();
  });
});
