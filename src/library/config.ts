/**
 * The daemon configuration (contract §2): one zod schema, defaults, and path resolution.
 * Relative paths resolve against the config file's directory. An invalid config is a
 * {@link ConfigError} whose message names every bad key, one per line.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { JitdError } from '../fsio/errors.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const ProviderSchema = z
  .object({
    kind: z.enum(['template', 'openai']).default('template'),
    model: z.string().min(1).default('gpt-4o-mini'),
    baseURL: z.url().optional(),
    timeoutMs: z.int().positive().max(3_600_000).default(120_000),
    /** Attempts after the first, made by jitd's own back-off loop (the SDK's retries are off). */
    maxRetries: z.int().min(0).max(20).default(4),
    /** Optional cap on calls started per minute (p-queue interval/intervalCap). */
    requestsPerMinute: z.int().positive().optional(),
    /** Upper bound on an answer's size in bytes; a larger answer is a failed attempt. */
    maxOutputBytes: z.int().positive().max(10_000_000).default(200_000),
  })
  .strict();

const GenerationSchema = z
  .object({
    concurrency: z.int().min(1).max(64).default(2),
    /**
     * Budget, in UTF-8 bytes, of the library context sent with a request: the goal's other
     * components and the same-type examples (contract §8). What does not fit is left out whole.
     */
    contextBytes: z.int().min(0).max(4_194_304).default(32_768),
    /** The library's own generator instructions (`system.md`, `<type>.md`); relative to the config. */
    promptsDir: z.string().min(1).default('prompts'),
    /** `auto`: a generated component is installed at once; `required`: it waits as a draft for `jitctl approve`. */
    review: z.enum(['auto', 'required']).default('auto'),
  })
  .strict();

const GitSchema = z
  .object({
    /** false: never look at git (library writes are never held for it). */
    hold: z.boolean().default(true),
    /** Quiet time after HEAD, the index or the stash changed before jitd writes the library. */
    settleMs: z.int().min(0).max(600_000).default(2000),
    /** After a `git stash`, how long jitd waits for its pop before writing the library (0: not at all). */
    stashHoldMs: z.int().min(0).max(86_400_000).default(600_000),
  })
  .strict();

/** A hook command: an argv array, run without a shell (`["notify-send", "jitd"]`). */
const HookCommandSchema = z
  .array(
    z
      .string()
      .min(1)
      .refine((s) => !s.includes('\0'), 'may not contain NUL'),
  )
  .min(1)
  .max(256);

/** `hooks` (contract §9): commands run on engine events, bounded and a few at a time. */
const HooksSchema = z
  .object({
    /** A new request waits for a description (once per request, not per rescan). */
    requestAdded: HookCommandSchema.optional(),
    /** A draft waits for review (fires once drafts exist, contract §8; accepted today, never run yet). */
    draftReady: HookCommandSchema.optional(),
    /** Generation failed (the request keeps its description and is retried with back-off). */
    requestFailed: HookCommandSchema.optional(),
    /** A component was installed and the map repointed. */
    installed: HookCommandSchema.optional(),
    /** How long a hook may run before it is killed (SIGTERM, then SIGKILL). */
    timeoutMs: z.int().min(100).max(600_000).default(10_000),
    /** Hooks running at once; later ones wait in a bounded queue. */
    concurrency: z.int().min(1).max(16).default(2),
  })
  .strict();

export const ConfigSchema = z
  .object({
    mapFile: z.string().min(1).default('goal_map.json'),
    componentsDir: z.string().min(1).default('../components'),
    stateDir: z.string().min(1).optional(),
    socketPath: z.string().min(1).max(107).optional(),
    socketGroup: z.string().min(1).optional(),
    provider: ProviderSchema.default(() => ProviderSchema.parse({})),
    generation: GenerationSchema.default(() => GenerationSchema.parse({})),
    debounceMs: z.int().min(0).max(60_000).default(150),
    /** Period of the cheap full rescan that catches events the kernel dropped. 0 disables it. */
    rescanIntervalMs: z.int().min(0).default(300_000),
    orphans: z.enum(['quarantine', 'delete', 'keep']).default('quarantine'),
    /** Holding library writes while the library's git repository is busy (reconcile/git-activity.ts). */
    git: GitSchema.default(() => GitSchema.parse({})),
    hooks: HooksSchema.default(() => HooksSchema.parse({})),
    log: z
      .object({ level: z.enum(LOG_LEVELS).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

export type RawConfig = z.infer<typeof ConfigSchema>;
export type ProviderConfig = z.infer<typeof ProviderSchema>;
export type HooksConfig = z.infer<typeof HooksSchema>;
/** The events a hook can be configured for. */
export const HOOK_EVENTS = ['requestAdded', 'draftReady', 'requestFailed', 'installed'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** The configuration with every path absolute. */
export interface Config extends Omit<RawConfig, 'stateDir' | 'socketPath'> {
  configFile: string;
  mapFile: string;
  componentsDir: string;
  stateDir: string;
  socketPath: string;
}

export class ConfigError extends JitdError {
  constructor(message: string) {
    super('ECONFIG', message);
  }
}

/** One line per zod issue: `provider.kind: Invalid option...`, unknown keys named one by one. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const at = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${at ? `${at}.` : ''}${key}: unknown key`);
    } else {
      lines.push(`${at || '(top level)'}: ${issue.message}`);
    }
  }
  return lines;
}

/** Environment consulted for defaults; systemd sets these for `StateDirectory=` etc. */
export interface ConfigEnv {
  STATE_DIRECTORY?: string | undefined;
  RUNTIME_DIRECTORY?: string | undefined;
}

/** Validates parsed JSON and resolves it against `configFile`'s directory. */
export function resolveConfig(json: unknown, configFile: string, env: ConfigEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(`invalid config ${configFile}:\n  ${formatIssues(parsed.error.issues).join('\n  ')}`);
  }
  const raw = parsed.data;
  const base = dirname(resolve(configFile));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  // systemd's StateDirectory=/RuntimeDirectory= may list several paths separated by ':'.
  const firstOf = (v: string | undefined) => v?.split(':')[0] || undefined;
  const stateDir = raw.stateDir ? abs(raw.stateDir) : (firstOf(env.STATE_DIRECTORY) ?? abs('../.jitd'));
  const runtimeDir = firstOf(env.RUNTIME_DIRECTORY);
  const socketPath = raw.socketPath ? abs(raw.socketPath) : runtimeDir && !raw.stateDir ? resolve(runtimeDir, 'jitd.sock') : resolve(stateDir, 'jitd.sock');
  if (Buffer.byteLength(socketPath) > 107) {
    throw new ConfigError(`invalid config ${configFile}:\n  socketPath: ${socketPath} is longer than the 107 bytes a Unix socket path may have`);
  }
  return {
    ...raw,
    configFile: resolve(configFile),
    mapFile: abs(raw.mapFile),
    componentsDir: abs(raw.componentsDir),
    generation: { ...raw.generation, promptsDir: abs(raw.generation.promptsDir) },
    stateDir,
    socketPath,
  };
}

/** Reads, parses and validates a config file. Every failure is a ConfigError with the file named. */
export async function loadConfig(configFile: string, env: ConfigEnv = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(configFile, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config ${configFile}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`invalid config ${configFile}: not JSON (${(err as Error).message})`);
  }
  return resolveConfig(json, configFile, env);
}
