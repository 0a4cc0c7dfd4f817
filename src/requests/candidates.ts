/**
 * Candidates of a request held for review: `stateDir/candidates/<id>/<n>.txt` (the text) and
 * `<n>.json` (its provenance), numbered from 1. Each is a durable put (text first, provenance
 * second, so a provenance file always names a text on disk); a draft record names a candidate
 * only after both are durable, so a crash never leaves a draft without its text.
 */
import { join } from 'node:path';
import { durablePut } from '../fsio/durable-put.js';
import { ensureDurableDir } from '../fsio/durable-dir.js';
import { readdirOrEmpty, readFileOrNull, type FsLayer } from '../fsio/fs-layer.js';
import { isJitdTemp } from '../fsio/temp-files.js';
import { compact, type OutputProvenance, type Peer } from './provenance.js';

/**
 * Where a candidate came from: what wrote it (provider, and for a model its model, server and
 * usage), when, `source` (`model`, absent too; `person`: an edit, or a person's version of the
 * installed file kept; `installed`: jitd's installed text), the regeneration's feedback, who
 * answered the request and who edited it (the socket's peer).
 */
export interface CandidateProvenance extends Omit<OutputProvenance, 'candidate' | 'approvedBy'> {
  request: string;
  candidate: number;
  description: string;
  answeredBy?: Peer;
}

/**
 * The provenance an install of candidate `n` records (staged sidecar, the done record's
 * `installed`): what wrote it and the candidate number, with who approved it.
 */
export function installProvenance(p: CandidateProvenance | undefined, n: number, approvedBy?: Peer): OutputProvenance {
  const {
    request: _r,
    candidate: _c,
    description: _d,
    answeredBy: _a,
    ...info
  } = p ?? { request: '', candidate: n, description: '', provider: 'unknown', at: '' }; // Stryker: equivalent — request and description are destructured away above
  return compact({ ...info, at: info.at || new Date().toISOString(), candidate: n, approvedBy });
}

export class Candidates {
  readonly dir: string;

  constructor(
    private readonly fs: FsLayer,
    stateDir: string,
  ) {
    this.dir = join(stateDir, 'candidates');
  }

  /** The candidate numbers of request `id` that have both files, ascending. */
  async list(id: string): Promise<number[]> {
    const names = new Set((await readdirOrEmpty(this.fs, join(this.dir, id))).filter((e) => e.kind === 'file' && !isJitdTemp(e.name)).map((e) => e.name));
    const out: number[] = [];
    for (const n of names) {
      const m = /^([1-9][0-9]*)\.txt$/.exec(n);
      if (m && names.has(`${m[1]}.json`)) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  /** Candidate `n`'s text, or undefined. */
  async read(id: string, n: number): Promise<string | undefined> {
    return (await readFileOrNull(this.fs, join(this.dir, id, `${n}.txt`)))?.toString('utf8');
  }

  /** Candidate `n`'s provenance, or undefined. */
  async provenance(id: string, n: number): Promise<CandidateProvenance | undefined> {
    const bytes = await readFileOrNull(this.fs, join(this.dir, id, `${n}.json`));
    if (!bytes) return undefined; // Stryker: equivalent — `if (false)`: bytes.toString throws in the try below, which answers undefined too
    try {
      return JSON.parse(bytes.toString('utf8')) as CandidateProvenance;
    } catch {
      return undefined; // Stryker: equivalent — an empty catch block answers undefined as well
    }
  }

  /**
   * The newest model-written candidate numbered above `after` (a regeneration's output already on
   * disk), or undefined. A text whose provenance a crash cut off counts (its text is durable
   * first): `prov` is written for it, so the model is not paid again for it.
   */
  async newestModelAfter(id: string, after: number, prov: Omit<CandidateProvenance, 'candidate' | 'request'>): Promise<number | undefined> {
    const names = new Set((await readdirOrEmpty(this.fs, join(this.dir, id))).filter((e) => e.kind === 'file' && !isJitdTemp(e.name)).map((e) => e.name));
    const texts = [...names]
      .flatMap((n) => /^([1-9][0-9]*)\.txt$/.exec(n)?.[1] ?? []) // Stryker: equivalent — `?? ["Stryker was here"]`: Number() makes it NaN, which the filter below drops
      .map(Number)
      .filter((n) => n > after)
      .sort((a, b) => b - a);
    for (const n of texts) {
      if (!names.has(`${n}.json`)) {
        const full: CandidateProvenance = { request: id, candidate: n, ...prov };
        await durablePut(this.fs, join(this.dir, id, `${n}.json`), `${JSON.stringify(full)}\n`, { mode: 'replace', fileMode: 0o600 });
        return n;
      }
      if (((await this.provenance(id, n))?.source ?? 'model') === 'model') return n;
    }
    return undefined;
  }

  /**
   * Adds `content` as the next candidate and answers its number. The same text as the newest
   * candidate is that candidate again (a restart after a crash between the put and the draft
   * record finds it there), so a crash never numbers one output twice.
   */
  async add(id: string, content: string, prov: Omit<CandidateProvenance, 'candidate' | 'request'>): Promise<number> {
    const have = await this.list(id);
    const last = have.at(-1);
    // Stryker: equivalent — `true && …`: with no candidate it reads `undefined.txt`, never a name jitd writes, so never equal
    if (last !== undefined && (await this.read(id, last)) === content) return last;
    const n = (last ?? 0) + 1;
    await ensureDurableDir(this.fs, this.dir, 0o700);
    await ensureDurableDir(this.fs, join(this.dir, id), 0o700);
    await durablePut(this.fs, join(this.dir, id, `${n}.txt`), content, { mode: 'replace', fileMode: 0o600 });
    const full: CandidateProvenance = { request: id, candidate: n, ...prov };
    await durablePut(this.fs, join(this.dir, id, `${n}.json`), `${JSON.stringify(full)}\n`, { mode: 'replace', fileMode: 0o600 });
    return n;
  }
}
