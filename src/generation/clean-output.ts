/**
 * Turns a model's raw answer into the text of a component, or rejects it. Owns: text
 * normalisation (BOM, NUL and other control characters, CRLF, lone surrogates, one final
 * newline), removal of chat wrapping (a leading `<think>` block, "Sure! Here is…:" preambles, a
 * surrounding code fence, "Let me know if…" chatter) and the rejection rules.
 *
 * Rejections are {@link UnusableOutputError}s (GenerationErrors) and this is the policy:
 *  - `empty` and `refusal` are retryable: sampling differs between attempts, another may succeed.
 *  - `too-large` is NOT retryable: it is a property of the request (the description asks for too
 *    much) or of the config (`provider.maxOutputBytes` too small), and paying for the same huge
 *    answer several times does not help. The pipeline's `failed` back-off still applies.
 */
import { GenerationError } from './provider.js';

export type UnusableReason = 'empty' | 'refusal' | 'too-large';

/** The answer cannot be used as a component; `reason` says why. */
export class UnusableOutputError extends GenerationError {
  constructor(
    readonly reason: UnusableReason,
    message: string,
  ) {
    super(message, reason !== 'too-large');
  }
}

/**
 * Normalises text without changing its content: strips a BOM, NUL and other C0/DEL control
 * characters (tab and newline kept), CRLF/CR → LF, lone UTF-16 surrogates → U+FFFD (so the
 * text encodes to valid UTF-8).
 */
export function normalizeText(text: string): string {
  return text
    .replace(/^\uFEFF+/, '')
    .replace(/\r\n?/g, '\n')
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, '')
    .replace(/\uFEFF/g, '')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

// A line a chat model puts before the content. Either an interjection ("Sure!", "Certainly, …"),
// or an announcement that ends with a colon ("Here is the component:").
const PREAMBLE_INTERJECTION = /^(?:sure|certainly|of course|absolutely|okay|ok|great|alright|got it)\s*[!.,:;—–][^\n]{0,200}$/i;
const PREAMBLE_ANNOUNCE = /^(?:here(?:['’]s| is| are)|below is|this is)\b[^\n]{0,200}:\s*$/i;
// Chatter after the content ("Let me know if…"), matched on the last paragraph.
const TRAILING_CHATTER =
  /^(?:let me know|i hope|hope this|feel free|if you(?:['’]d| would)? (?:like|want|need)|would you like|do you want|happy to|i can also|you can (?:adjust|customi[sz]e|modify|tweak|extend) (?:this|it|the)\b)/i;
const FENCE_OPEN = /^(`{3,}|~{3,})[^\n`]*$/;
// How refusals begin. Only short answers are tested, so a long component that happens to start
// with "I cannot stress enough…" is not mistaken for one.
const REFUSAL_START: readonly RegExp[] = [
  /^(?:i['’]?m|i am) (?:very |really |so |truly )?(?:sorry|afraid|unable|not able)\b/i,
  /^(?:sorry|apologies|my apologies)\b/i,
  /^i (?:can(?:no|['’])t|can not|cannot|won['’]?t|will not|must decline|am unable|am not able)\b/i,
  /^unfortunately,? i (?:can(?:no|['’])t|cannot|am unable|am not able|won['’]?t)\b/i,
  /^as an ai\b[^\n]{0,160}?\b(?:can(?:no|['’])t|cannot|unable|not able|don['’]?t|do not|won['’]?t)\b/i,
];
const REFUSAL_MAX_CHARS = 600;

function stripThink(text: string): string {
  const m = /^\s*<think>[\s\S]*?<\/think>\s*/i.exec(text);
  return m ? text.slice(m[0].length) : text;
}

function stripPreamble(lines: string[]): string[] {
  let i = 0;
  let stripped = 0;
  while (stripped < 3) {
    while (i < lines.length && lines[i]!.trim() === '') i++;
    const line = (lines[i] ?? '').trim();
    // Stripped even when nothing follows: an answer that is only "Sure! Here it is:" is empty.
    if (!(PREAMBLE_INTERJECTION.test(line) || PREAMBLE_ANNOUNCE.test(line))) break;
    i++;
    stripped++;
  }
  return lines.slice(i);
}

function stripTrailingChatter(lines: string[]): string[] {
  let end = lines.length;
  for (let k = 0; k < 3; k++) {
    while (end > 0 && lines[end - 1]!.trim() === '') end--;
    let start = end;
    while (start > 0 && lines[start - 1]!.trim() !== '') start--;
    if (start === 0) break; // never strip the only paragraph
    if (!TRAILING_CHATTER.test(lines[start]!.trim())) break;
    end = start;
  }
  return lines.slice(0, end);
}

/** If the text is one fenced block (after the fence only blank lines), returns its inside. */
function unwrapFence(lines: string[]): string[] {
  let first = 0;
  while (first < lines.length && lines[first]!.trim() === '') first++;
  let last = lines.length - 1;
  while (last > first && lines[last]!.trim() === '') last--;
  const open = FENCE_OPEN.exec((lines[first] ?? '').trim());
  if (!open || last <= first) return lines;
  const fence = open[1]!;
  const closing = lines[last]!.trim();
  if (closing[0] !== fence[0] || !/^(`{3,}|~{3,})$/.test(closing) || closing.length < fence.length) return lines;
  return lines.slice(first + 1, last);
}

/**
 * Cleans a model's answer into component text (UTF-8-safe, LF line ends, exactly one final
 * newline) or throws an {@link UnusableOutputError}: `empty` / `refusal` (retryable), or
 * `too-large` when the result exceeds `maxBytes` UTF-8 bytes (not retryable).
 */
export function cleanOutput(text: string, maxBytes: number): string {
  // Bail out before any work on an answer that cannot shrink under the limit by cleaning.
  if (text.length > maxBytes + 65_536) throw tooLarge(Buffer.byteLength(text), maxBytes);

  let lines = stripThink(normalizeText(text)).split('\n');
  lines = stripPreamble(lines);
  lines = stripTrailingChatter(lines);
  lines = unwrapFence(lines);
  lines = stripPreamble(lines); // a preamble inside the fence
  const body = lines
    .join('\n')
    .replace(/^(?:[ \t]*\n)+/, '')
    .trimEnd();

  if (body.trim() === '') {
    throw new UnusableOutputError('empty', 'the model returned an empty answer');
  }
  if (body.length <= REFUSAL_MAX_CHARS && REFUSAL_START.some((re) => re.test(body.trim()))) {
    const first = body.trim().split('\n')[0]!.slice(0, 160);
    throw new UnusableOutputError('refusal', `the model refused to write the component ("${first}"); if this persists, rephrase the description`);
  }
  const out = `${body}\n`;
  const bytes = Buffer.byteLength(out);
  if (bytes > maxBytes) throw tooLarge(bytes, maxBytes);
  return out;
}

function tooLarge(bytes: number, maxBytes: number): UnusableOutputError {
  return new UnusableOutputError(
    'too-large',
    `the model's answer is ${bytes} bytes, over provider.maxOutputBytes (${maxBytes}); ` + 'describe a smaller component or raise provider.maxOutputBytes',
  );
}
