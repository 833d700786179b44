import { describe, expect, it } from 'vitest';
import { parseFrameList } from '../../appliance/src/dicomweb/frames.js';
import { parseQidoQuery } from '../../appliance/src/dicomweb/qido-query.js';

// Requests a hostile peer sent (docs/SECURITY.md, finding 11): answered at the box, bounded, never passed on.
describe('requests a hostile peer sent', () => {
  it('sends each frame once, however often it is asked (4,000 copies of frame 1 once streamed 2 GB)', () => {
    expect(parseFrameList(Array(4000).fill('1').join(','))).toEqual([1]);
    expect(parseFrameList('3,1,3,2,1')).toEqual([3, 1, 2]);
    expect(parseFrameList('1,,2')).toBeUndefined();
  });

  it('answers a wild card on a UID at the box (400), instead of passing it to the PACS (502)', () => {
    expect(() => parseQidoQuery(new URLSearchParams('SOPInstanceUID=*'))).toThrow(/wild cards do not apply to UIDs/);
    expect(() => parseQidoQuery(new URLSearchParams('StudyInstanceUID=1.2.3*'))).toThrow(/wild cards do not apply to UIDs/);
    expect(parseQidoQuery(new URLSearchParams('StudyInstanceUID=1.2.3,1.2.4')).matches[0]!.value).toBe('1.2.3,1.2.4');
    expect(parseQidoQuery(new URLSearchParams('PatientName=DUP*')).matches[0]!.value).toBe('DUP*');
  });
});
