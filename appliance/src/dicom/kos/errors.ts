/** The inputs cannot make a valid KOS; the message names the field and what to fix. */
export class KosBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KosBuildError';
  }
}

/** The bytes are not a KOS this box can use; the message says what was found instead. */
export class KosParseError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KosParseError';
  }
}
