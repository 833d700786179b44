import { describe, expect, it, vi } from 'vitest';
import * as hl7 from '../../appliance/src/hl7/index.js';
import { Hl7ExchangeLog, WATCH_MS } from '../../appliance/src/source/hl7-exchange-log.js';
import { oruForStudy, testNir } from '../fixtures/hl7/report-message.js';
import { helene } from '../fixtures/hl7/generate.js';

// The log's parses, counted: a message read again is a cost, paid only while a screen watches.
vi.mock('../../appliance/src/hl7/index.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../appliance/src/hl7/index.js')>();
  return { ...actual, parseHl7Message: vi.fn(actual.parseHl7Message) };
});

const parse = vi.mocked(hl7.parseHl7Message);
const message = (controlId: string) => oruForStudy({ studyUid: '1.2.826.0.1.3680043.10.1558.1.1', patient: { ...helene, ins: testNir('2840275123456') }, accession: 'ACC-1', controlId });
const answer = async (raw: Buffer) => hl7.buildAck(raw, 'AA');

describe('the RIS exchanges kept for the setup screen', () => {
  it('neither reads nor keeps a message while no screen has asked, and answers with the intake’s ACK unchanged', async () => {
    let now = 1_000_000_000;
    const log = new Hl7ExchangeLog(() => now);
    const raw = message('CTRL-1');
    const ack = hl7.buildAck(raw, 'AA');
    const handler = log.observe(async () => ack);
    parse.mockClear();
    expect(await handler(raw, { remoteAddress: '192.168.1.20' })).toBe(ack);
    expect(parse).not.toHaveBeenCalled();
    expect(log.since('')).toEqual([]);
  });

  it('records what the box read for WATCH_MS after a screen asked, bounded to the last ten', async () => {
    let now = 1_000_000_000;
    const log = new Hl7ExchangeLog(() => now);
    const handler = log.observe(answer);
    log.since(new Date(now).toISOString());
    now += WATCH_MS - 1;
    await handler(message('CTRL-2'), { remoteAddress: '192.168.1.20' });
    const [seen] = log.since('');
    expect(seen).toMatchObject({ remoteAddress: '192.168.1.20', sender: 'RIS^CABINET', messageType: 'ORU^R01', controlId: 'CTRL-2', ack: { code: 'AA' }, read: { accession: 'ACC-1' } });
    for (let i = 0; i < 12; i++) await handler(message(`CTRL-B${i}`), {});
    expect(log.since('').map((e) => e.controlId)).toEqual(Array.from({ length: 10 }, (_, i) => `CTRL-B${i + 2}`));
    // The screen closed: after the window nothing more is read.
    now += WATCH_MS + 1;
    parse.mockClear();
    await handler(message('CTRL-3'), {});
    expect(parse).not.toHaveBeenCalled();
  });
});
