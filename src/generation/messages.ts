/**
 * The exact chat messages of a generation, from a {@link GenerationInput} (pure: same input,
 * same bytes). The openai provider sends what this returns and `jitctl preview` prints it, so
 * the two cannot drift apart.
 *
 * Shape, for every OpenAI-compatible server (llama.cpp, vLLM, Ollama): one `system` message (the
 * instructions) and one `user` message (the request and the library context), both plain string
 * content. One user message rather than several: the chat templates of some local models reject
 * two user turns in a row ("roles must alternate").
 */
import { builtinInstructions, systemText } from './instructions.js';
import type { GenerationInput } from './provider.js';

export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

/** How tokens are estimated: UTF-8 bytes / 4, rounded up (no tokenizer: the server's is unknown). */
const TOKEN_RULE = 'ceil(bytes / 4)';

/** A rough token count for `bytes` of text ({@link TOKEN_RULE}; English text with GPT-style tokenizers). */
export function estimateTokens(bytes: number): number {
  return Math.ceil(bytes / 4);
}

/** A value for an attribute of the tags that wrap component texts (JSON string escaping). */
const attr = (v: string) => JSON.stringify(v);

const SIBLING_NOTE: Record<string, string> = {
  target: 'the component you are writing',
  included: 'its text is below',
  budget: 'left out: over the context budget',
  missing: 'not written yet',
  refused: 'not readable (outside the components directory, or not a regular file)',
  scaffold: 'left out',
  empty: 'empty',
};

type MessageInput = Pick<GenerationInput, 'goal' | 'type' | 'filename' | 'description' | 'context' | 'regeneration'>;

/** The user message: the request, then the goal's other components, then the style examples. */
export function userMessageFor(input: MessageInput): string {
  const lines = [
    `Goal: ${input.goal}`,
    `Component type: ${input.type}`,
    `File name the library expects: ${input.filename}`,
    'Description from the person who asked for this component:',
    input.description.trim(),
  ];
  const ctx = input.context;
  if (ctx && ctx.goalParts.some((p) => p.status !== 'target')) {
    lines.push('', `The goal ${input.goal} is composed from these components, in this order:`);
    ctx.goalParts.forEach((p, i) => {
      const bytes = ctx.omitted.find((o) => o.kind === 'sibling' && o.type === p.type && o.filename === p.filename)?.bytes;
      const note = SIBLING_NOTE[p.status] ?? p.status;
      lines.push(`${i + 1}. ${p.type} ${p.filename} (${note}${p.status === 'budget' && bytes !== undefined ? `, ${bytes} bytes` : ''})`);
    });
    for (const s of ctx.siblings) {
      lines.push('', `<component type=${attr(s.type)} file=${attr(s.filename)}>`, s.text, '</component>');
    }
  }
  if (ctx && ctx.examples.length) {
    lines.push(
      '',
      `Existing ${input.type} components of this library, as examples of its style: follow their tone, length and layout; do not copy their content.`,
    );
    for (const x of ctx.examples) {
      const goals = x.goals.length ? ` goals=${attr(x.goals.join(', '))}` : '';
      lines.push('', `<example file=${attr(x.filename)}${goals}>`, x.text, '</example>');
    }
  }
  const regen = input.regeneration;
  if (regen) {
    lines.push(
      '',
      'A previous candidate for this component, which the person wants improved:',
      '<previous>',
      regen.previous.replace(/\n+$/, ''),
      '</previous>',
    );
    if (regen.feedback?.trim()) lines.push(`The person's feedback on it: ${regen.feedback.trim()}`);
    lines.push('', `Write a new candidate of the ${input.type} component now.`);
  } else {
    lines.push('', `Write the ${input.type} component now.`);
  }
  return lines.join('\n');
}

/** The messages to send: the system message (when its instructions are not empty) and the user message. */
export function buildMessages(input: MessageInput): ChatMessage[] {
  const system = systemText(input.context?.instructions ?? builtinInstructions(input.type));
  const user: ChatMessage = { role: 'user', content: userMessageFor(input) };
  return system ? [{ role: 'system', content: system }, user] : [user];
}

/** Per-message and total sizes of `messages`. */
export function measureMessages(messages: readonly ChatMessage[]) {
  const sizes = messages.map((m) => {
    const bytes = Buffer.byteLength(m.content);
    return { role: m.role, bytes, tokens: estimateTokens(bytes) };
  });
  const bytes = sizes.reduce((n, s) => n + s.bytes, 0);
  return { sizes, bytes, tokens: sizes.reduce((n, s) => n + s.tokens, 0), tokenRule: TOKEN_RULE };
}
