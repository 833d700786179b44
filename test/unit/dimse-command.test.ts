import { describe, expect, it } from 'vitest';
import { decodeCommand, encodeStoreRequest, encodeStoreResponse } from '../../appliance/src/dimse/command.js';
import dimse from 'dcmjs-dimse';

const { Dataset } = dimse;
const { CStoreRequest } = dimse.requests;
const { CMoveResponse } = dimse.responses;

// The box encodes and decodes its hot-path DIMSE commands itself; dcmjs-dimse (dcmjs underneath) is the referee.

describe('DIMSE command sets', () => {
  it('C-STORE-RQ as dcmjs reads it', () => {
    const bytes = encodeStoreRequest({ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '2.25.1234567', messageId: 513 });
    const theirs = new Dataset(bytes, '1.2.840.10008.1.2').getElements();
    expect(theirs).toMatchObject({
      AffectedSOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
      CommandField: 0x0001,
      MessageID: 513,
      Priority: 0,
      AffectedSOPInstanceUID: '2.25.1234567',
    });
    expect(theirs.CommandDataSetType).not.toBe(0x0101);
    // group length = bytes after the (0000,0000) element
    expect(theirs.CommandGroupLength).toBe(bytes.length - 12);
    expect(decodeCommand(bytes)).toMatchObject({ CommandField: 1, MessageID: 513, AffectedSOPInstanceUID: '2.25.1234567' });
  });

  it('C-STORE-RSP with an error comment, odd lengths padded', () => {
    const bytes = encodeStoreResponse({ sopClassUid: '1.2.3', sopInstanceUid: '1.2.34', messageIdBeingRespondedTo: 7, status: 0xa700, errorComment: 'disque plein\\x' });
    expect(bytes.length % 2).toBe(0);
    const theirs = new Dataset(bytes, '1.2.840.10008.1.2').getElements();
    expect(theirs).toMatchObject({ CommandField: 0x8001, MessageIDBeingRespondedTo: 7, Status: 0xa700, CommandDataSetType: 0x0101, ErrorComment: 'disque plein x' });
    expect(decodeCommand(bytes)).toMatchObject({ AffectedSOPClassUID: '1.2.3', AffectedSOPInstanceUID: '1.2.34', Status: 0xa700 });
  });

  it('decodes what dcmjs-dimse encodes (requests and C-MOVE responses with sub-operation counts)', () => {
    const request = new CStoreRequest(new Dataset({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.4', SOPInstanceUID: '1.2.3.4.5' }));
    request.setMessageId(42);
    expect(decodeCommand(request.getCommandDataset().getDenaturalizedCommandDataset())).toMatchObject({
      CommandField: 1,
      MessageID: 42,
      AffectedSOPClassUID: '1.2.840.10008.5.1.4.1.1.4',
      AffectedSOPInstanceUID: '1.2.3.4.5',
    });
    const move = new CMoveResponse(0xff00, "");
    move.setRemaining(3);
    move.setCompleted(1297);
    move.setFailures(0);
    move.setWarnings(0);
    expect(decodeCommand(move.getCommandDataset().getDenaturalizedCommandDataset())).toMatchObject({
      CommandField: 0x8021,
      Status: 0xff00,
      NumberOfRemainingSuboperations: 3,
      NumberOfCompletedSuboperations: 1297,
    });
  });

  it('refuses a malformed command', () => {
    expect(() => decodeCommand(Buffer.from([0x08, 0x00, 0x00, 0x00, 2, 0, 0, 0, 1, 2]))).toThrow(/malformed DIMSE command/);
    expect(() => decodeCommand(Buffer.from([0x00, 0x00, 0x00, 0x01, 200, 0, 0, 0, 1, 2]))).toThrow(/malformed/);
  });
});
