/**
 * Line framing for the control socket: splits a byte stream into `\n`-terminated lines
 * (a trailing `\r` is dropped, so CRLF clients work) without ever holding more than one line's
 * worth of bytes. A line that grows past the limit is reported once, as soon as it does, and
 * the rest of it is dropped as it arrives rather than buffered.
 */

export interface LineSink {
  /** A complete line (without its terminator). */
  line(bytes: Buffer): void;
  /** The current line went over the limit; its remaining bytes are being discarded. */
  tooBig(): void;
}

const NL = 0x0a;
const CR = 0x0d;

/** Splits chunks into lines of at most `maxLineBytes` bytes. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly sink: LineSink,
  ) {}

  /** True while part of a line (kept or being discarded) has arrived without its newline. */
  get partial(): boolean {
    return this.size > 0 || this.discarding;
  }

  /** Feeds one chunk; calls the sink for every line it completes. */
  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(NL, start);
      const end = nl === -1 ? chunk.length : nl;
      this.take(chunk.subarray(start, end));
      if (nl === -1) return;
      start = nl + 1;
      this.finishLine();
    }
  }

  /** The stream ended: a last line without its newline still counts. */
  end(): void {
    if (this.size > 0 && !this.discarding) this.finishLine();
    this.reset();
  }

  /** Drops whatever partial line is held (the connection is closing). */
  reset(): void {
    this.parts = [];
    this.size = 0;
    this.discarding = false;
  }

  private take(piece: Buffer): void {
    if (this.discarding || piece.length === 0) return;
    // One byte of slack for a CR that the newline will strip.
    if (this.size + piece.length > this.maxLineBytes + 1) {
      this.parts = [];
      this.size = 0;
      this.discarding = true;
      this.sink.tooBig();
      return;
    }
    // Copy: the socket may reuse its chunk buffers.
    this.parts.push(Buffer.from(piece));
    this.size += piece.length;
  }

  private finishLine(): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    let line = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    if (line.length > this.maxLineBytes) {
      this.sink.tooBig();
      return;
    }
    this.sink.line(line);
  }
}
