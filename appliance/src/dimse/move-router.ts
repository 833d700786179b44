import type { ReceivedInstance } from './types.js';
import { peekStudyInstanceUid, type FileMeta } from './part10.js';
import type { StoreDecision, StoreSink } from './sink.js';

/** A C-MOVE in progress whose instances the box's SCP receives on other associations. */
export interface MoveExpectation {
  /** Message ID of the C-MOVE-RQ: the PACS echoes it as Move Originator Message ID (0000,1031). */
  messageId: number;
  /** AE title the PACS calls the box's SCP with. */
  pacsAeTitle: string;
  studyInstanceUid: string;
  outDir: string;
  /** An instance's bytes are arriving: the C-MOVE association's inactivity timer restarts. */
  touch(): void;
  /** The instance is on disk; resolves with the C-STORE-RSP status. */
  stored(instance: ReceivedInstance): Promise<number>;
}

export interface MoveOrigin {
  callingAeTitle: string;
  /** Move Originator Application Entity Title (0000,1030), when the PACS sets it. */
  originatorAeTitle?: string;
  /** Move Originator Message ID (0000,1031), when the PACS sets it. */
  originatorMessageId?: number;
}

/**
 * Matches instances arriving on the box's SCP to the C-MOVE waiting for them: by Move Originator Message ID
 * first (unique across the box, see nextMessageId), else the only move pending from that PACS, else by the
 * Study Instance UID read from the start of the dataset.
 */
export class MoveRouter {
  private readonly expectations = new Set<MoveExpectation>();
  /** Other AE titles the box answers to for a while (a setup test of a draft AE title), with how many hold each. */
  private readonly aliases = new Map<string, number>();

  constructor(private readonly boxAeTitle: string) {}

  expect(expectation: MoveExpectation): () => void {
    this.expectations.add(expectation);
    return () => this.expectations.delete(expectation);
  }

  /** Moves started under `aeTitle` are the box's own too, until the returned function is called. */
  alsoKnownAs(aeTitle: string): () => void {
    this.aliases.set(aeTitle, (this.aliases.get(aeTitle) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.aliases.get(aeTitle) ?? 1) - 1;
      if (left > 0) this.aliases.set(aeTitle, left);
      else this.aliases.delete(aeTitle);
    };
  }

  /** The move an instance belongs to, 'by-study' when only its Study Instance UID can tell, or undefined (not from a move). */
  route(origin: MoveOrigin): MoveExpectation | 'by-study' | undefined {
    const ours = !origin.originatorAeTitle || origin.originatorAeTitle === this.boxAeTitle || this.aliases.has(origin.originatorAeTitle);
    if (origin.originatorMessageId !== undefined && ours) {
      // Some PACS store from another AE title than the one they are queried on: the Message ID alone is enough.
      for (const e of this.expectations) if (e.messageId === origin.originatorMessageId) return e;
    }
    const fromPeer = [...this.expectations].filter((e) => e.pacsAeTitle === origin.callingAeTitle);
    if (fromPeer.length === 0) return undefined;
    if (fromPeer.length === 1) return fromPeer[0];
    return 'by-study';
  }

  byStudy(callingAeTitle: string, studyInstanceUid: string | undefined): MoveExpectation | undefined {
    if (!studyInstanceUid) return undefined;
    for (const e of this.expectations) if (e.pacsAeTitle === callingAeTitle && e.studyInstanceUid === studyInstanceUid) return e;
    return undefined;
  }
}

const MAX_PEEK = 1 << 20;

/**
 * Holds the first bytes of a dataset until its Study Instance UID is read (at most 1 MiB), then opens
 * the real sink (chosen by `open`) and hands it everything, from then on without buffering.
 */
export class StudyPeekingSink implements StoreSink {
  private prefix: Buffer[] = [];
  private prefixLength = 0;
  private inner: StoreSink | undefined;

  constructor(
    private readonly meta: FileMeta,
    private readonly open: (studyInstanceUid: string | undefined) => StoreSink,
  ) {}

  write(chunk: Buffer): boolean {
    if (this.inner) return this.inner.write(chunk);
    this.prefix.push(chunk);
    this.prefixLength += chunk.length;
    const joined = Buffer.concat(this.prefix);
    this.prefix = [joined];
    const study = peekStudyInstanceUid(joined, this.meta.transferSyntaxUid);
    if (study === 'more' && this.prefixLength < MAX_PEEK) return true;
    return this.openWith(study === 'more' ? undefined : study);
  }

  drained(): Promise<void> {
    return this.inner ? this.inner.drained() : Promise.resolve();
  }

  end(): Promise<StoreDecision> {
    if (!this.inner) {
      const joined = Buffer.concat(this.prefix);
      const study = peekStudyInstanceUid(joined, this.meta.transferSyntaxUid);
      this.openWith(study === 'more' ? undefined : study);
    }
    return this.inner!.end();
  }

  destroy(): void {
    this.inner?.destroy();
    this.prefix = [];
  }

  private openWith(studyInstanceUid: string | undefined): boolean {
    this.inner = this.open(studyInstanceUid);
    const buffered = Buffer.concat(this.prefix);
    this.prefix = [];
    return this.inner.write(buffered);
  }
}
