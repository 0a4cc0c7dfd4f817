/**
 * The generator's instructions (the system message): jitd's built-in ones, or the library's own
 * from `generation.promptsDir` (contract §8). `system.md` replaces the common instructions,
 * `<type>.md` those of one type; each is used as written (no templating: only a leading BOM and
 * trailing whitespace are dropped). A missing directory or file means the built-in text.
 *
 * Invariant: an instruction file that exists but cannot be used (a directory, a FIFO, unreadable,
 * over {@link MAX_INSTRUCTION_BYTES}) is an {@link InstructionsError}, never a silent fallback to
 * the built-ins: the library asked for its own words, and generating without them would hide that.
 * Files are read only if regular (a FIFO is never opened for a blocking read).
 */
import { join } from 'node:path';
import type { FsLayer } from '../fsio/fs-layer.js';
import { hasCode } from '../fsio/fs-layer.js';
import { NotRegularFileError } from '../fsio/errors.js';
import { typeProblem } from '../library/names.js';
import { GenerationError } from './provider.js';

/** Larger instruction files are refused: they would crowd out the library context. */
export const MAX_INSTRUCTION_BYTES = 262_144;

/** The built-in common instructions (what `system.md` replaces). */
export const BUILTIN_COMMON = [
  'You write prompt components for a library of reusable prompt parts. Components are plain text;',
  'several are concatenated, in order, into the prompt another language model receives.',
  'Reply with ONE reusable component and nothing else: no preamble, no explanation, no closing',
  'remarks, no Markdown code fences around it. Address the model that will receive the prompt',
  'directly, keep the component self-contained, and keep it general enough to reuse for its goal.',
  "When the library's other components are shown, write in their style and fit the components",
  'this one is composed with; never copy their content.',
].join(' ');

const BUILTIN_TYPE: Record<string, string> = {
  protocol:
    'This component is a PROTOCOL: a procedure. Write a one-line title, then numbered steps the model ' +
    'follows in order, each an imperative sentence or two, including when to stop, verify or escalate.',
  persona:
    'This component is a PERSONA: who the model is. Begin with "You are ...", then its expertise, ' +
    'priorities, tone and boundaries, in a few short lines or bullets.',
  format:
    'This component is a FORMAT: the exact shape of the answer. Give an output skeleton (headings, ' +
    'fields or JSON keys with <placeholders>) and short rules for filling it in.',
};

/** The built-in instructions for one type (what `<type>.md` replaces). */
export function builtinTypeInstructions(type: string): string {
  return (
    BUILTIN_TYPE[type.toLowerCase()] ?? `This component is of type "${type}": write the plain-text instructions that part of a prompt needs, clear and concise.`
  );
}

/** One part of the instructions and where it came from. */
export interface InstructionPart {
  text: string;
  /** `built-in`, or the absolute path of the library's file. */
  source: string;
}

export interface Instructions {
  common: InstructionPart;
  type: InstructionPart;
}

/** The built-in instructions for `type` (no library files). */
export function builtinInstructions(type: string): Instructions {
  return { common: { text: BUILTIN_COMMON, source: 'built-in' }, type: { text: builtinTypeInstructions(type), source: 'built-in' } };
}

/** An instruction file exists but cannot be used. Retryable: fixing the file is enough. */
export class InstructionsError extends GenerationError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, options);
  }
}

/** The file's text as written, or undefined if it does not exist. */
async function readInstructionFile(fs: FsLayer, path: string): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await fs.readRegularFile(path);
  } catch (err) {
    if (hasCode(err, 'ENOENT', 'ENOTDIR')) return undefined;
    if (err instanceof NotRegularFileError) {
      throw new InstructionsError(
        `generator instructions ${path} is not a regular file (${err.kind === 'dir' ? 'a directory' : 'a FIFO, socket or device'}); make it a plain text file or remove it`,
      );
    }
    const code = (err as { code?: string }).code;
    throw new InstructionsError(`cannot read generator instructions ${path}${code ? ` (${code})` : ''}: ${(err as Error).message}`, { cause: err });
  }
  if (bytes.length > MAX_INSTRUCTION_BYTES) {
    throw new InstructionsError(`generator instructions ${path} is ${bytes.length} bytes, over the ${MAX_INSTRUCTION_BYTES} jitd accepts; shorten it`);
  }
  return bytes
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimEnd();
}

/**
 * The instructions for `type`: `<promptsDir>/system.md` and `<promptsDir>/<type>.md` where they
 * exist, the built-in text where they do not. Read at every call, so an edit applies to the next
 * generation without a restart.
 * @throws InstructionsError for a file that exists but cannot be used.
 */
export async function loadInstructions(fs: FsLayer, promptsDir: string, type: string): Promise<Instructions> {
  const out = builtinInstructions(type);
  const commonPath = join(promptsDir, 'system.md');
  const common = await readInstructionFile(fs, commonPath);
  if (common !== undefined) out.common = { text: common, source: commonPath };
  // A type is a checked path segment (names.ts); anything else keeps the built-in text.
  if (typeProblem(type) === undefined) {
    const typePath = join(promptsDir, `${type}.md`);
    const specific = await readInstructionFile(fs, typePath);
    if (specific !== undefined) out.type = { text: specific, source: typePath };
  }
  return out;
}

/** The system message: the common instructions, a blank line, the type's instructions. */
export function systemText(ins: Instructions): string {
  return [ins.common.text, ins.type.text].filter((t) => t.trim() !== '').join('\n\n');
}
