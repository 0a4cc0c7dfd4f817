/**
 * An in-memory FsLayer that models what survives a power cut.
 *
 * Durability rules (the strict POSIX reading, what ext4/xfs only promise after fsync):
 *  - a file's data is durable up to that file's last fsync (`WritableFile.sync()`);
 *  - a directory entry operation (create, mkdir, link, unlink, rename, and the exchange of two
 *    entries that `renameIfUnchanged` makes, like renameat2(RENAME_EXCHANGE)) is durable once
 *    its directory is fsynced (`syncDir`) afterwards. A rename or exchange between two
 *    directories is one atomic operation, durable once either directory is fsynced;
 *  - fsync of a directory says nothing about that directory's own entry in its parent.
 *
 * Every mutation is appended to an operation log. `crashStates(seed, count, { at })` builds
 * the disk images a power cut after the first `at` operations may leave: everything durable,
 * plus, for each directory independently, a prefix of its un-synced entry operations, and for
 * each file with un-synced writes its data old, new, truncated or garbage. The first two states
 * are the extremes (only what is durable; everything, as after a process crash), the rest seeded
 * random. Each image is a fresh MemFs in which everything is durable.
 */
import { posix } from 'node:path';
import { NotRegularFileError } from '../../src/fsio/errors.js';
import type { DirEntry, FsLayer, KeptFile, Replaced, StatInfo, WritableFile } from '../../src/fsio/fs-layer.js';

type Ino = number;

interface FileNode {
  kind: 'file';
  data: Buffer;
  mode: number;
  mtimeMs: number;
}
interface DirNode {
  kind: 'dir';
  entries: Map<string, Ino>;
  mode: number;
  mtimeMs: number;
}
interface LinkNode {
  kind: 'symlink';
  target: string;
  mtimeMs: number;
}
type Node = FileNode | DirNode | LinkNode;

export type MemOp =
  | { t: 'create'; dir: Ino; name: string; ino: Ino; path: string }
  | { t: 'mkdir'; dir: Ino; name: string; ino: Ino; path: string }
  | { t: 'symlink'; dir: Ino; name: string; ino: Ino; target: string; path: string }
  | { t: 'link'; dir: Ino; name: string; ino: Ino; path: string }
  | { t: 'unlink'; dir: Ino; name: string; path: string }
  | { t: 'rename'; fromDir: Ino; fromName: string; toDir: Ino; toName: string; ino: Ino; path: string; from: string }
  /** Two entries swapped: `aName` now names `aIno` (it named `bIno`), `bName` names `bIno`. */
  | { t: 'exchange'; aDir: Ino; aName: string; aIno: Ino; bDir: Ino; bName: string; bIno: Ino; path: string; from: string }
  | { t: 'write'; ino: Ino; offset: number; bytes: Buffer; path: string }
  | { t: 'trunc'; ino: Ino; size: number; path: string }
  | { t: 'fsync'; ino: Ino; path: string }
  | { t: 'syncdir'; dir: Ino; path: string };

const ROOT: Ino = 1;

function errno(code: string, syscall: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
}

/** mulberry32: a tiny seeded PRNG, so every crash state can be rebuilt from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cloneNode(n: Node): Node {
  if (n.kind === 'file') return { ...n, data: Buffer.from(n.data) };
  if (n.kind === 'dir') return { ...n, entries: new Map(n.entries) };
  return { ...n };
}

function cloneTable(t: ReadonlyMap<Ino, Node>): Map<Ino, Node> {
  const out = new Map<Ino, Node>();
  for (const [ino, n] of t) out.set(ino, cloneNode(n));
  return out;
}

export type DataChoice = 'old' | 'new' | 'truncated' | 'garbage';

export interface CrashStateInfo {
  /** Operations of the prefix that were applied although not durable. */
  appliedUnsynced: number;
  /** Directory entry operations of the prefix that were not durable and got lost. */
  lostUnsynced: number;
  dataChoices: DataChoice[];
}

export class MemFs implements FsLayer {
  private nodes: Map<Ino, Node>;
  private nextIno: number;
  private clock = 1;
  /** The image everything in the log applies to (all durable). */
  private base: Map<Ino, Node>;
  private baseNextIno: number;
  readonly log: MemOp[] = [];
  /** Set by crashStates() on the images it builds, for reports. */
  info: CrashStateInfo | undefined;

  constructor(image?: Map<Ino, Node>) {
    this.nodes = image ?? new Map<Ino, Node>([[ROOT, { kind: 'dir', entries: new Map(), mode: 0o755, mtimeMs: 0 }]]);
    this.nextIno = Math.max(...this.nodes.keys()) + 1;
    this.base = cloneTable(this.nodes);
    this.baseNextIno = this.nextIno;
  }

  // ---- path resolution -------------------------------------------------------------------

  private node(ino: Ino): Node {
    const n = this.nodes.get(ino);
    if (!n) throw new Error(`mem-fs: dangling inode ${ino}`);
    return n;
  }

  private dir(ino: Ino): DirNode {
    const n = this.node(ino);
    if (n.kind !== 'dir') throw new Error(`mem-fs: inode ${ino} is not a directory`);
    return n;
  }

  /**
   * Resolves `path` to its parent directory and final name. Intermediate symlinks are always
   * followed; the final one only with `followLast`. Answers the real path of the parent.
   */
  private lookup(path: string, followLast: boolean, syscall: string, depth = 0): { parent: Ino; parentPath: string; name: string; ino: Ino | undefined } {
    if (depth > 40) throw errno('ELOOP', syscall, path);
    if (!posix.isAbsolute(path)) throw new Error(`mem-fs: relative path ${path}`);
    const parts = posix.normalize(path).split('/').filter(Boolean);
    if (parts.length === 0) return { parent: ROOT, parentPath: '/', name: '', ino: ROOT };
    let cur = ROOT;
    let curPath = '/';
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as string;
      const last = i === parts.length - 1;
      const d = this.node(cur);
      if (d.kind !== 'dir') throw errno('ENOTDIR', syscall, path);
      const child = d.entries.get(part);
      if (last) {
        if (child !== undefined && followLast) {
          const c = this.node(child);
          if (c.kind === 'symlink') return this.lookup(posix.resolve(curPath, c.target), true, syscall, depth + 1);
        }
        return { parent: cur, parentPath: curPath, name: part, ino: child };
      }
      if (child === undefined) throw errno('ENOENT', syscall, path);
      const c = this.node(child);
      if (c.kind === 'symlink') {
        const rest = parts.slice(i + 1).join('/');
        return this.lookup(posix.join(posix.resolve(curPath, c.target), rest), followLast, syscall, depth + 1);
      }
      if (c.kind !== 'dir') throw errno('ENOTDIR', syscall, path);
      cur = child;
      curPath = posix.join(curPath, part);
    }
    throw new Error('unreachable');
  }

  private existing(path: string, followLast: boolean, syscall: string) {
    const r = this.lookup(path, followLast, syscall);
    if (r.ino === undefined) throw errno('ENOENT', syscall, path);
    return { ...r, ino: r.ino };
  }

  private tick(): number {
    return this.clock++;
  }

  private touch(dirIno: Ino): void {
    this.dir(dirIno).mtimeMs = this.tick();
  }

  // ---- FsLayer ---------------------------------------------------------------------------

  async createExclusive(path: string, mode: number): Promise<WritableFile> {
    const r = this.lookup(path, false, 'open');
    if (r.ino !== undefined) throw errno('EEXIST', 'open', path);
    const ino = this.nextIno++;
    this.nodes.set(ino, { kind: 'file', data: Buffer.alloc(0), mode, mtimeMs: this.tick() });
    this.dir(r.parent).entries.set(r.name, ino);
    this.touch(r.parent);
    this.log.push({ t: 'create', dir: r.parent, name: r.name, ino, path });
    let pos = 0;
    let closed = false;
    const file = this.node(ino) as FileNode;
    return {
      write: async (data, offset, length) => {
        if (closed) throw errno('EBADF', 'write', path);
        const bytes = Buffer.from(data.subarray(offset, offset + length));
        this.writeAt(ino, pos, bytes, path);
        pos += bytes.length;
        return bytes.length;
      },
      chmod: async (m) => {
        if (closed) throw errno('EBADF', 'fchmod', path);
        file.mode = m;
      },
      sync: async () => {
        if (closed) throw errno('EBADF', 'fsync', path);
        this.log.push({ t: 'fsync', ino, path });
      },
      close: async () => {
        if (closed) throw errno('EBADF', 'close', path);
        closed = true;
        void file;
      },
    };
  }

  private writeAt(ino: Ino, offset: number, bytes: Buffer, path: string): void {
    const f = this.node(ino) as FileNode;
    const end = offset + bytes.length;
    const next = Buffer.alloc(Math.max(f.data.length, end));
    f.data.copy(next);
    bytes.copy(next, offset);
    f.data = next;
    f.mtimeMs = this.tick();
    this.log.push({ t: 'write', ino, offset, bytes, path });
  }

  async readFile(path: string): Promise<Buffer> {
    const r = this.existing(path, true, 'open');
    const n = this.node(r.ino);
    if (n.kind === 'dir') throw errno('EISDIR', 'read', path);
    if (n.kind !== 'file') throw errno('EINVAL', 'read', path);
    return Buffer.from(n.data);
  }

  async readRegularFile(path: string): Promise<Buffer> {
    const r = this.existing(path, true, 'open');
    const n = this.node(r.ino);
    if (n.kind !== 'file') throw new NotRegularFileError(path, n.kind === 'dir' ? 'dir' : 'other');
    return Buffer.from(n.data);
  }

  /** What node-fs.ts identityOf() gives: inode, size and mtime (every write ticks the clock). */
  private identityOf(ino: Ino): string {
    const n = this.node(ino);
    return `mem:${ino}:${n.kind === 'file' ? n.data.length : 0}:${n.mtimeMs}`;
  }

  /**
   * The exchange publish of node-fs.ts: if `to` is still the version `identity` names, swap the
   * two entries (one logged operation, durable with the directory fsync, like a rename), keep
   * the replaced version open, and unlink `from` (which now names it). Else ETARGETCHANGED.
   */
  async renameIfUnchanged(from: string, to: string, identity: string): Promise<Replaced> {
    const a = this.existing(from, false, 'renameat2');
    const b = this.lookup(to, false, 'renameat2');
    if (b.ino === undefined || this.identityOf(b.ino) !== identity) {
      throw Object.assign(new Error(`${to} changed since it was checked`), { code: 'ETARGETCHANGED' });
    }
    if (this.node(a.ino).kind !== 'file' || this.node(b.ino).kind !== 'file') throw errno('EINVAL', 'renameat2', to);
    const published = this.identityOf(a.ino);
    this.dir(b.parent).entries.set(b.name, a.ino);
    this.dir(a.parent).entries.set(a.name, b.ino);
    this.touch(a.parent);
    this.touch(b.parent);
    this.log.push({ t: 'exchange', aDir: b.parent, aName: b.name, aIno: a.ino, bDir: a.parent, bName: a.name, bIno: b.ino, path: to, from });
    const kept = this.keep(b.ino);
    await this.unlink(from);
    return { published, kept };
  }

  /** A replaced version held open (the inode lives on in the table, as it does with an open fd). */
  private keep(ino: Ino): KeptFile {
    let closed = false;
    const live = () => {
      if (closed) throw errno('EBADF', 'fstat', `inode ${ino}`);
      return this.node(ino) as FileNode;
    };
    this.keptOpen++;
    return {
      identity: async () => (live(), this.identityOf(ino)),
      read: async () => Buffer.from(live().data),
      close: async () => {
        if (closed) return;
        closed = true;
        this.keptOpen--;
      },
    };
  }

  /** Replaced versions held open right now (a test checks none leaks). */
  keptOpen = 0;

  /**
   * A descriptor opened on `path` now, as an editor saving in place holds one: whatever name
   * the file has later (or none), `save` truncates and writes that same file (not fsynced).
   */
  openInPlace(path: string): { save(data: string | Uint8Array): void } {
    const ino = this.existing(path, true, 'open').ino;
    return {
      save: (data) => {
        const f = this.node(ino) as FileNode;
        f.data = Buffer.alloc(0);
        this.log.push({ t: 'trunc', ino, size: 0, path });
        this.writeAt(ino, 0, Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data), path);
      },
    };
  }

  async rename(from: string, to: string): Promise<void> {
    const a = this.existing(from, false, 'rename');
    const b = this.lookup(to, false, 'rename');
    const src = this.node(a.ino);
    if (b.ino !== undefined) {
      if (b.ino === a.ino) return;
      const dst = this.node(b.ino);
      if (dst.kind === 'dir' && src.kind !== 'dir') throw errno('EISDIR', 'rename', to);
      if (dst.kind !== 'dir' && src.kind === 'dir') throw errno('ENOTDIR', 'rename', to);
      if (dst.kind === 'dir' && dst.entries.size > 0) throw errno('ENOTEMPTY', 'rename', to);
    }
    this.dir(a.parent).entries.delete(a.name);
    this.dir(b.parent).entries.set(b.name, a.ino);
    this.touch(a.parent);
    this.touch(b.parent);
    this.log.push({ t: 'rename', fromDir: a.parent, fromName: a.name, toDir: b.parent, toName: b.name, ino: a.ino, path: to, from });
  }

  async link(from: string, to: string): Promise<void> {
    const a = this.existing(from, false, 'link');
    if (this.node(a.ino).kind === 'dir') throw errno('EPERM', 'link', from);
    const b = this.lookup(to, false, 'link');
    if (b.ino !== undefined) throw errno('EEXIST', 'link', to);
    this.dir(b.parent).entries.set(b.name, a.ino);
    this.touch(b.parent);
    this.log.push({ t: 'link', dir: b.parent, name: b.name, ino: a.ino, path: to });
  }

  async unlink(path: string): Promise<void> {
    const r = this.existing(path, false, 'unlink');
    if (this.node(r.ino).kind === 'dir') throw errno('EISDIR', 'unlink', path);
    this.dir(r.parent).entries.delete(r.name);
    this.touch(r.parent);
    this.log.push({ t: 'unlink', dir: r.parent, name: r.name, path });
  }

  async mkdirp(path: string, mode: number): Promise<void> {
    this.mkdirpSync(path, mode);
  }

  mkdirpSync(path: string, mode = 0o755): void {
    const parts = posix.normalize(path).split('/').filter(Boolean);
    let cur = '/';
    for (const part of parts) {
      const next = posix.join(cur, part);
      const r = this.lookup(next, true, 'mkdir');
      if (r.ino === undefined) {
        const ino = this.nextIno++;
        this.nodes.set(ino, { kind: 'dir', entries: new Map(), mode, mtimeMs: this.tick() });
        this.dir(r.parent).entries.set(r.name, ino);
        this.touch(r.parent);
        this.log.push({ t: 'mkdir', dir: r.parent, name: r.name, ino, path: next });
      } else if (this.node(r.ino).kind !== 'dir') {
        throw errno(next === posix.normalize(path) ? 'EEXIST' : 'ENOTDIR', 'mkdir', path);
      }
      cur = next;
    }
  }

  async readdir(path: string): Promise<DirEntry[]> {
    const r = this.existing(path, true, 'scandir');
    const d = this.node(r.ino);
    if (d.kind !== 'dir') throw errno('ENOTDIR', 'scandir', path);
    return [...d.entries].map(([name, ino]) => ({ name, kind: this.node(ino).kind }));
  }

  async lstat(path: string): Promise<StatInfo> {
    const r = this.existing(path, false, 'lstat');
    const n = this.node(r.ino);
    return {
      kind: n.kind,
      size: n.kind === 'file' ? n.data.length : n.kind === 'symlink' ? n.target.length : 4096,
      mtimeMs: n.mtimeMs,
      mode: n.kind === 'symlink' ? 0o777 : n.mode,
      identity: this.identityOf(r.ino),
    };
  }

  async realpath(path: string): Promise<string> {
    return this.realpathSync(path);
  }

  private realpathSync(path: string, depth = 0): string {
    if (depth > 40) throw errno('ELOOP', 'realpath', path);
    const r = this.existing(path, true, 'realpath');
    if (r.ino === ROOT) return '/';
    // lookup answers the parent's path with intermediate links resolved; the final name was
    // followed too when it was a link, so the parent path plus name is the real path.
    return posix.join(r.parentPath, r.name);
  }

  async syncDir(path: string): Promise<void> {
    const r = this.existing(path, true, 'open');
    if (this.node(r.ino).kind !== 'dir') throw errno('ENOTDIR', 'open', path);
    this.log.push({ t: 'syncdir', dir: r.ino, path });
  }

  // ---- helpers for tests -----------------------------------------------------------------

  /** Creates a symbolic link (not durable until its directory is synced). */
  symlink(target: string, path: string): void {
    const r = this.lookup(path, false, 'symlink');
    if (r.ino !== undefined) throw errno('EEXIST', 'symlink', path);
    const ino = this.nextIno++;
    this.nodes.set(ino, { kind: 'symlink', target, mtimeMs: this.tick() });
    this.dir(r.parent).entries.set(r.name, ino);
    this.log.push({ t: 'symlink', dir: r.parent, name: r.name, ino, target, path });
  }

  /**
   * Writes a whole file as a simple editor does: in place (truncate, write) when it exists,
   * created otherwise; parent directories are created. Not fsynced.
   */
  writeFile(path: string, data: string | Uint8Array): void {
    const bytes = Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    const parent = posix.dirname(posix.normalize(path));
    this.mkdirpSync(parent, 0o755);
    const r = this.lookup(path, true, 'open');
    let ino = r.ino;
    if (ino === undefined) {
      ino = this.nextIno++;
      this.nodes.set(ino, { kind: 'file', data: Buffer.alloc(0), mode: 0o644, mtimeMs: this.tick() });
      this.dir(r.parent).entries.set(r.name, ino);
      this.touch(r.parent);
      this.log.push({ t: 'create', dir: r.parent, name: r.name, ino, path });
    } else {
      const n = this.node(ino);
      if (n.kind !== 'file') throw errno('EISDIR', 'open', path);
      n.data = Buffer.alloc(0);
      this.log.push({ t: 'trunc', ino, size: 0, path });
    }
    this.writeAt(ino, 0, bytes, path);
  }

  /** Synchronous variants for assertions. */
  read(path: string): string | undefined {
    try {
      const r = this.existing(path, true, 'open');
      const n = this.node(r.ino);
      return n.kind === 'file' ? n.data.toString('utf8') : undefined;
    } catch {
      return undefined;
    }
  }

  exists(path: string): boolean {
    try {
      return this.lookup(path, false, 'lstat').ino !== undefined;
    } catch {
      return false;
    }
  }

  /** Every file and symlink below `path`, as absolute paths (directories walked, links not). */
  walk(path = '/'): string[] {
    const out: string[] = [];
    const visit = (ino: Ino, at: string) => {
      const n = this.node(ino);
      if (n.kind !== 'dir') {
        out.push(at);
        return;
      }
      for (const [name, child] of n.entries) visit(child, posix.join(at, name));
    };
    let start: Ino;
    try {
      const r = this.lookup(path, true, 'walk');
      if (r.ino === undefined) return out;
      start = r.ino;
    } catch {
      return out;
    }
    visit(start, posix.normalize(path));
    return out.sort();
  }

  /** Declares the current state durable (the starting image) and clears the log. */
  checkpoint(): void {
    this.base = cloneTable(this.nodes);
    this.baseNextIno = this.nextIno;
    this.log.length = 0;
  }

  /** A copy whose current state is fully durable (a process crash: the page cache survives). */
  clone(): MemFs {
    return new MemFs(cloneTable(this.nodes));
  }

  /**
   * The state a *process* crash after the first `at` operations leaves: everything visible, but
   * what was not durable stays not durable (the log keeps it pending), so a later power cut
   * during the recovery can still lose it — `crashStates()` on the result explores that.
   */
  afterProcessCrash(at: number): MemFs {
    const fs = new MemFs(cloneTable(this.base));
    fs.nextIno = this.baseNextIno;
    for (const op of this.log.slice(0, at)) fs.replayOp(op);
    return fs;
  }

  private replayOp(op: MemOp): void {
    switch (op.t) {
      case 'create':
        this.nodes.set(op.ino, { kind: 'file', data: Buffer.alloc(0), mode: 0o644, mtimeMs: this.tick() });
        this.dir(op.dir).entries.set(op.name, op.ino);
        break;
      case 'mkdir':
        this.nodes.set(op.ino, { kind: 'dir', entries: new Map(), mode: 0o755, mtimeMs: this.tick() });
        this.dir(op.dir).entries.set(op.name, op.ino);
        break;
      case 'symlink':
        this.nodes.set(op.ino, { kind: 'symlink', target: op.target, mtimeMs: this.tick() });
        this.dir(op.dir).entries.set(op.name, op.ino);
        break;
      case 'link':
        this.dir(op.dir).entries.set(op.name, op.ino);
        break;
      case 'unlink':
        this.dir(op.dir).entries.delete(op.name);
        break;
      case 'rename':
        this.dir(op.fromDir).entries.delete(op.fromName);
        this.dir(op.toDir).entries.set(op.toName, op.ino);
        break;
      case 'exchange':
        this.dir(op.aDir).entries.set(op.aName, op.aIno);
        this.dir(op.bDir).entries.set(op.bName, op.bIno);
        break;
      case 'write': {
        const f = this.node(op.ino) as FileNode;
        const next = Buffer.alloc(Math.max(f.data.length, op.offset + op.bytes.length));
        f.data.copy(next);
        op.bytes.copy(next, op.offset);
        f.data = next;
        break;
      }
      case 'trunc': {
        const f = this.node(op.ino) as FileNode;
        f.data = f.data.subarray(0, op.size);
        break;
      }
      default:
        break;
    }
    if ('ino' in op && op.ino >= this.nextIno) this.nextIno = op.ino + 1;
    this.log.push(op);
  }

  /**
   * Crash images after the first `at` logged operations (default: all of them), `count` of
   * them: [0] only the durable state, [1] everything (as a process crash leaves it), then
   * seeded random ones.
   */
  crashStates(seed: number, count: number, opts: { at?: number } = {}): MemFs[] {
    const at = Math.min(opts.at ?? this.log.length, this.log.length);
    const prefix = this.log.slice(0, at);
    const rand = prng(seed);
    const states: MemFs[] = [];
    for (let i = 0; i < count; i++) {
      const mode = i === 0 ? 'durable' : i === 1 ? 'all' : 'random';
      states.push(this.buildImage(prefix, mode, rand));
    }
    return states;
  }

  private buildImage(prefix: readonly MemOp[], mode: 'durable' | 'all' | 'random', rand: () => number): MemFs {
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;

    // 1. Directory entry operations, per directory: durable up to its last syncdir, then a
    //    chosen prefix of the rest.
    const entryDirs = (op: MemOp): Ino[] => {
      switch (op.t) {
        case 'create':
        case 'mkdir':
        case 'symlink':
        case 'link':
        case 'unlink':
          return [op.dir];
        case 'rename':
          return op.fromDir === op.toDir ? [op.fromDir] : [op.fromDir, op.toDir];
        case 'exchange':
          return op.aDir === op.bDir ? [op.aDir] : [op.aDir, op.bDir];
        default:
          return [];
      }
    };
    const perDir = new Map<Ino, number[]>(); // dir -> indices of its entry ops, in order
    const lastSync = new Map<Ino, number>(); // dir -> index of its last syncdir
    prefix.forEach((op, i) => {
      for (const d of entryDirs(op)) {
        let list = perDir.get(d);
        if (!list) perDir.set(d, (list = []));
        list.push(i);
      }
      if (op.t === 'syncdir') lastSync.set(op.dir, i);
    });
    const included = new Set<number>();
    let unsynced = 0;
    for (const [d, list] of perDir) {
      const synced = lastSync.get(d) ?? -1;
      const pending = list.filter((i) => i > synced);
      for (const i of list) if (i < synced) included.add(i);
      unsynced += pending.length;
      const keep = mode === 'durable' ? 0 : mode === 'all' ? pending.length : Math.floor(rand() * (pending.length + 1));
      for (const i of pending.slice(0, keep)) included.add(i);
    }

    // 2. File data: durable up to the file's last fsync; the rest old, new, truncated or garbage.
    const nodes = cloneTable(this.base);
    const lastFsync = new Map<Ino, number>();
    const touched = new Set<Ino>();
    prefix.forEach((op, i) => {
      if (op.t === 'fsync') lastFsync.set(op.ino, i);
      if (op.t === 'write' || op.t === 'trunc' || op.t === 'create') touched.add(op.ino);
    });
    const replay = (ino: Ino, upTo: number): Buffer => {
      const baseNode = this.base.get(ino);
      let data = baseNode?.kind === 'file' ? Buffer.from(baseNode.data) : Buffer.alloc(0);
      for (let i = 0; i < upTo; i++) {
        const op = prefix[i] as MemOp;
        if (op.t === 'trunc' && op.ino === ino) data = data.subarray(0, op.size);
        if (op.t === 'write' && op.ino === ino) {
          const next = Buffer.alloc(Math.max(data.length, op.offset + op.bytes.length));
          data.copy(next);
          op.bytes.copy(next, op.offset);
          data = next;
        }
      }
      return data;
    };
    const choices: DataChoice[] = [];
    for (const ino of touched) {
      const synced = replay(ino, (lastFsync.get(ino) ?? -1) + 1);
      const current = replay(ino, prefix.length);
      let data: Buffer;
      if (synced.equals(current)) data = current;
      else {
        const choice: DataChoice = mode === 'durable' ? 'old' : mode === 'all' ? 'new' : pick(['old', 'new', 'truncated', 'garbage'] as const);
        choices.push(choice);
        if (choice === 'old') data = synced;
        else if (choice === 'new') data = current;
        else if (choice === 'truncated') data = current.subarray(0, Math.floor(rand() * current.length));
        else {
          data = Buffer.from(current);
          const from = Math.min(synced.length, data.length);
          for (let j = from; j < data.length; j++) data[j] = Math.floor(rand() * 256);
          if (from === data.length && data.length > 0) {
            const at = Math.floor(rand() * data.length);
            data[at] = (data[at] as number) ^ 0xff;
          }
        }
      }
      const existing = nodes.get(ino);
      if (existing?.kind === 'file') existing.data = data;
      else nodes.set(ino, { kind: 'file', data, mode: 0o644, mtimeMs: 0 });
    }

    // 3. Apply the included entry operations in log order.
    const dirOf = (ino: Ino): DirNode => {
      let n = nodes.get(ino);
      if (!n) nodes.set(ino, (n = { kind: 'dir', entries: new Map(), mode: 0o755, mtimeMs: 0 }));
      return n as DirNode;
    };
    prefix.forEach((op, i) => {
      if (!included.has(i)) return;
      switch (op.t) {
        case 'create':
        case 'link':
          dirOf(op.dir).entries.set(op.name, op.ino);
          break;
        case 'mkdir':
          dirOf(op.ino);
          dirOf(op.dir).entries.set(op.name, op.ino);
          break;
        case 'symlink':
          nodes.set(op.ino, { kind: 'symlink', target: op.target, mtimeMs: 0 });
          dirOf(op.dir).entries.set(op.name, op.ino);
          break;
        case 'unlink':
          dirOf(op.dir).entries.delete(op.name);
          break;
        case 'rename': {
          const from = dirOf(op.fromDir);
          if (from.entries.get(op.fromName) === op.ino) from.entries.delete(op.fromName);
          dirOf(op.toDir).entries.set(op.toName, op.ino);
          break;
        }
        case 'exchange':
          dirOf(op.aDir).entries.set(op.aName, op.aIno);
          dirOf(op.bDir).entries.set(op.bName, op.bIno);
          break;
        default:
          break;
      }
    });
    for (const n of nodes.values()) if (n.kind !== 'dir') n.mtimeMs = 0;
    const fs = new MemFs(nodes);
    fs.info = { appliedUnsynced: 0, lostUnsynced: 0, dataChoices: choices };
    let applied = 0;
    for (const [d, list] of perDir) {
      const synced = lastSync.get(d) ?? -1;
      for (const i of list) if (i > synced && included.has(i)) applied++;
    }
    fs.info.appliedUnsynced = applied;
    fs.info.lostUnsynced = unsynced - applied;
    void this.baseNextIno;
    return fs;
  }
}
