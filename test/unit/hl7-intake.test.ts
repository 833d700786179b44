import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { openDatabase } from '../../appliance/src/store/database.js';
import { ReportInbox } from '../../appliance/src/store/report-inbox.js';
import { createHl7Intake } from '../../appliance/src/source/report-intake.js';
import { parseHl7Message } from '../../appliance/src/hl7/parse.js';
import { readAck } from '../../appliance/src/hl7/ack.js';
import { reportFromHl7 } from '../../appliance/src/report/parse.js';

const oru = readFileSync(new URL('../fixtures/hl7/oru-r01-v2.5-publish.hl7', import.meta.url)).toString('utf8');

describe('the HL7 intake and mislabelled character sets', () => {
  it('accepts UTF-8 bytes declared 8859/1: AA with an ERR of severity W naming MSH-18, the names read right, stored', async () => {
    const inbox = new ReportInbox(openDatabase(':memory:'));
    const intake = createHl7Intake({ inbox });
    const mislabelled = Buffer.from(oru.replace('|UNICODE UTF-8|', '|8859/1|'), 'utf8');
    expect(mislabelled.toString('latin1')).not.toEqual(mislabelled.toString('utf8')); // there are non-ASCII bytes
    const ackBytes = await intake(mislabelled, { remoteAddress: '127.0.0.1' });
    const ack = readAck(ackBytes);
    expect(ack.code).toBe('AA');
    const err = parseHl7Message(ackBytes).segment('ERR')!;
    expect(err.get(4)).toBe('W');
    expect(ack.errors[0]).toMatchObject({ location: 'MSH^1^18', code: '0', text: expect.stringMatching(/declares '8859\/1' but the bytes are UTF-8/) });
    const [row] = inbox.list({ limit: 1 });
    expect(row).toMatchObject({ state: 'received' });
    expect(reportFromHl7(parseHl7Message(row!.raw)).patient.birthName).toBe(reportFromHl7(parseHl7Message(Buffer.from(oru, 'utf8'))).patient.birthName);
  });

  it('still refuses what cannot be read: Latin-1 bytes declared UTF-8', async () => {
    const intake = createHl7Intake({ inbox: new ReportInbox(openDatabase(':memory:')) });
    const ack = readAck(await intake(Buffer.from(oru, 'latin1'), {})); // declares UNICODE UTF-8, bytes are Latin-1
    expect(ack.code).toBe('AR');
    expect(ack.text).toMatch(/not valid UTF-8/);
  });
});

describe('what the DMP would refuse is refused before the ACK', () => {
  const withPid5 = (family: string) => oru.replace(/^(PID\|[^|]*\|[^|]*\|[^|]*\|[^|]*\|)([^^|]*)/m, `$1${family}`);
  it.each([
    ['a 100,000-character family name', withPid5('X'.repeat(100_000)), 'PID^1^5', /patient's name has \d+ characters/],
    ['an escaped control character in the name', withPid5('DUPONT\\X0D\\'), 'PID^1^5', /control character/],
  ])('%s: AE with the field, nothing to process', async (_what, text, location, reason) => {
    const inbox = new ReportInbox(openDatabase(':memory:'));
    const ack = readAck(await createHl7Intake({ inbox })(Buffer.from(text, 'utf8'), {}));
    expect(ack.code).toBe('AE');
    expect(ack.errors[0]).toMatchObject({ location, text: expect.stringMatching(reason) });
    expect(inbox.list({ state: 'received' })).toEqual([]);
  });

  it('a 10,000-digit accession number', async () => {
    const { checkReportLimits } = await import('../../appliance/src/report/limits.js');
    const report = reportFromHl7(parseHl7Message(Buffer.from(oru, 'utf8')));
    expect(checkReportLimits(report)).toBeUndefined();
    expect(checkReportLimits({ ...report, accession: { value: '9'.repeat(10_000), issuerOid: '1.2.3' } })).toMatchObject({ location: 'OBR^1^18', text: expect.stringMatching(/accession number has 10000 characters/) });
  });
});
