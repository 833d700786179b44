import type { Hl7Charset, Hl7Encoding } from './charset.js';
import { unescapeHl7, type Hl7Separators } from './escape.js';

interface Context {
  seps: Hl7Separators;
  encoding: Hl7Encoding;
}

/** One repetition of a field: components and subcomponents, unescaped on access. */
export class Hl7Repetition {
  private split?: string[];

  constructor(
    /** Raw text, escape sequences not resolved. */
    readonly raw: string,
    private readonly ctx: Context,
  ) {}

  /** Raw components, split once (an OBX-5 can hold megabytes of base64). */
  private get rawComponents(): string[] {
    return (this.split ??= this.raw.split(this.ctx.seps.component));
  }

  get isEmpty(): boolean {
    return this.raw === '' || this.raw === '""';
  }

  /** Component c, subcomponent s (both 1-based), unescaped; '' when absent. */
  get(component = 1, subcomponent = 1): string {
    const comp = this.rawComponents[component - 1];
    if (comp === undefined) return '';
    const sub = comp.split(this.ctx.seps.subcomponent)[subcomponent - 1];
    return sub === undefined ? '' : unescapeHl7(sub, this.ctx.seps, this.ctx.encoding);
  }

  /** Raw text of component c (subcomponent separators kept, escapes unresolved). */
  rawComponent(component: number): string {
    return this.rawComponents[component - 1] ?? '';
  }

  get componentCount(): number {
    return this.raw === '' ? 0 : this.rawComponents.length;
  }

  /** The whole repetition as text (for simple-typed fields: ST, ID, NM...). */
  text(): string {
    return unescapeHl7(this.raw, this.ctx.seps, this.ctx.encoding);
  }
}

export class Hl7Field {
  readonly repetitions: readonly Hl7Repetition[];

  constructor(
    readonly raw: string,
    ctx: Context,
    literal = false,
  ) {
    this.repetitions = literal || raw === '' ? [new Hl7Repetition(raw, ctx)] : raw.split(ctx.seps.repetition).map((r) => new Hl7Repetition(r, ctx));
  }

  get isEmpty(): boolean {
    return this.repetitions.every((r) => r.isEmpty);
  }

  /** First repetition, component c, subcomponent s. */
  get(component = 1, subcomponent = 1): string {
    return this.repetitions[0]!.get(component, subcomponent);
  }
}

/** One segment. Field n is field(n) as numbered in the standard (MSH-1 is the field separator itself). */
export class Hl7Segment {
  private readonly fields: string[];

  constructor(
    readonly name: string,
    /** Occurrence of this segment name in the message, 1-based (the "segment sequence" of an ERL). */
    readonly sequence: number,
    /** Line of the segment in the message, 1-based. */
    readonly line: number,
    rawFields: string[],
    private readonly ctx: Context,
  ) {
    this.fields = rawFields;
  }

  /** Highest field number present. */
  get fieldCount(): number {
    return this.fields.length - 1;
  }

  field(n: number): Hl7Field {
    const literal = this.name === 'MSH' && (n === 1 || n === 2);
    return new Hl7Field(this.fields[n] ?? '', this.ctx, literal);
  }

  /** Field n, first repetition, component c, subcomponent s; unescaped, '' when absent. */
  get(n: number, component = 1, subcomponent = 1): string {
    if (this.name === 'MSH' && (n === 1 || n === 2)) return this.fields[n] ?? '';
    return this.field(n).get(component, subcomponent);
  }

  /** HL7 ERL of a field or component of this segment, e.g. 'PID^1^3' or 'OBX^1^5^1^5'. */
  location(field?: number, component?: number, repetition = 1): string {
    const parts = [this.name, String(this.sequence)];
    if (field !== undefined) parts.push(String(field));
    if (field !== undefined && component !== undefined) parts.push(String(repetition), String(component));
    return parts.join('^');
  }
}

export class Hl7Message {
  constructor(
    readonly segments: readonly Hl7Segment[],
    readonly separators: Hl7Separators,
    readonly charset: Hl7Charset,
    /** What was tolerated while reading (non-standard charset label, inferred charset...). */
    readonly warnings: readonly string[],
  ) {}

  get header(): Hl7Segment {
    return this.segments[0]!;
  }

  /** MSH-9.1, e.g. 'ORU'. */
  get messageType(): string {
    return this.header.get(9, 1).trim().toUpperCase();
  }

  /** MSH-9.2, e.g. 'R01'. */
  get triggerEvent(): string {
    return this.header.get(9, 2).trim().toUpperCase();
  }

  /** MSH-9.3, e.g. 'ORU_R01' ('' for senders before v2.3.1). */
  get messageStructure(): string {
    return this.header.get(9, 3).trim().toUpperCase();
  }

  /** 'ORU^R01', 'MDM^T10', 'ACK' ... */
  get event(): string {
    return this.triggerEvent ? `${this.messageType}^${this.triggerEvent}` : this.messageType;
  }

  get controlId(): string {
    return this.header.get(10);
  }

  get processingId(): string {
    return this.header.get(11);
  }

  /** MSH-12.1, e.g. '2.5'. */
  get version(): string {
    return this.header.get(12);
  }

  /** First segment of that name, or its n-th occurrence (1-based). */
  segment(name: string, occurrence = 1): Hl7Segment | undefined {
    let seen = 0;
    for (const s of this.segments) if (s.name === name && ++seen === occurrence) return s;
    return undefined;
  }

  segmentsNamed(name: string): Hl7Segment[] {
    return this.segments.filter((s) => s.name === name);
  }
}
