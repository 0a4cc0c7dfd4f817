/**
 * Line input for `prompt` and `answer`: on a terminal, node:readline with a prompt and Ctrl-C
 * handling; from a pipe, the lines as they come (buffered, so answers written ahead are not
 * lost). {@link LineInput.ask} answers undefined at end of input or after Ctrl-C.
 * {@link LineInput.handOver} lends the terminal to a child (an editor) and takes it back.
 */
import { createInterface, type Interface } from 'node:readline';
import type { ReadStream } from 'node:tty';

export class LineInput {
  private readonly rl: Interface;
  private readonly lines: string[] = [];
  private waiter: ((line: string | undefined) => void) | undefined;
  private ended = false;
  /** True once the person pressed Ctrl-C. */
  interrupted = false;
  /** Whether input is a terminal (prompts are shown, stray lines dropped). */
  readonly terminal: boolean;
  /** Resolves at end of input or Ctrl-C. */
  readonly closed: Promise<void>;

  constructor(
    private readonly input: NodeJS.ReadableStream & { isTTY?: boolean },
    output: NodeJS.WritableStream,
  ) {
    this.terminal = Boolean(input.isTTY);
    this.rl = createInterface({ input, ...(this.terminal ? { output } : {}), terminal: this.terminal });
    this.rl.on('line', (line) => {
      const w = this.waiter;
      this.waiter = undefined;
      if (w) w(line);
      // On a terminal, only what is typed in answer to a prompt counts.
      else if (!this.terminal) this.lines.push(line);
    });
    this.rl.on('SIGINT', () => {
      this.interrupted = true;
      output.write('\n');
      this.rl.close();
    });
    this.closed = new Promise((resolve) =>
      this.rl.on('close', () => {
        this.ended = true;
        const w = this.waiter;
        this.waiter = undefined;
        w?.(undefined);
        resolve();
      }),
    );
  }

  /** Shows `prompt` on a terminal and resolves with the next line (undefined: EOF or Ctrl-C). */
  ask(prompt: string): Promise<string | undefined> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve(undefined);
    if (this.terminal) {
      this.rl.setPrompt(prompt);
      this.rl.prompt();
    }
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /**
   * Runs `fn` (an editor on the inherited terminal) with the terminal handed over, as `git
   * commit` does: readline stops reading, so every keystroke goes to the child; the tty leaves
   * raw mode, so the child starts on a cooked terminal like one a shell gives it; and SIGINT is
   * ignored meanwhile, so a Ctrl-C meant for the editor does not kill jitctl. All of it is put
   * back afterwards, whatever `fn` did, and the next {@link ask} reads as before.
   */
  async handOver<T>(fn: () => Promise<T>): Promise<T> {
    const tty = this.input as Partial<ReadStream>;
    const wasRaw = this.terminal && tty.isRaw === true;
    const ignore = () => {};
    this.rl.pause();
    if (wasRaw) tty.setRawMode?.(false);
    process.on('SIGINT', ignore);
    try {
      return await fn();
    } finally {
      process.off('SIGINT', ignore);
      if (wasRaw) tty.setRawMode?.(true);
      this.rl.resume();
    }
  }

  close(): void {
    this.rl.close();
  }
}
