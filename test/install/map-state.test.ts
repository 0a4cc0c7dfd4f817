/**
 * The map state (install/map-state.ts): the map as last read is parsed only when its bytes
 * change, the last good parse survives a save that does not parse, the map and write errors are
 * reported once per change, and jitd's own map and component writes are recognised — a map
 * write only while nothing else was planned since.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MapUnavailableError, mapHash } from '../../src/install/map-file.js';
import { MapState, OWN_COMPONENT_TTL_MS } from '../../src/install/map-state.js';
import { MemFs } from '../support/mem-fs.js';

const MAP = '/lib/config/goal_map.json';
const A = `${JSON.stringify({ REVIEW: { protocol: 'review.txt' } })}\n`;
const B = `${JSON.stringify({ REVIEW: { protocol: 'autogen_protocol_for_review.txt' } })}\n`;
const C = `${JSON.stringify({ REVIEW: { protocol: 'review.txt' }, NEW: { format: 'new.txt' } })}\n`;
const h = (text: string) => mapHash(Buffer.from(text));

function setup(text: string | null = A) {
  const fs = new MemFs();
  if (text !== null) fs.writeFile(MAP, text);
  const events: string[] = [];
  const state = new MapState(fs, MAP, {
    mapError: (m) => events.push(`mapError ${m.slice(0, 20)}`),
    mapOk: (goals) => events.push(`mapOk ${goals}`),
    problems: (p) => events.push(`problems ${p.length}`),
    writeError: (what, _err, m) => events.push(`writeError ${what}: ${m}`),
  });
  return { fs, state, events };
}

afterEach(() => void vi.useRealTimers());

describe('MapState: the map as last read', () => {
  it('parses the map once and hands back the same parse until its bytes change', async () => {
    const { fs, state } = setup();
    const first = await state.read();
    const again = await state.read();
    if (!first.ok || !again.ok) throw new Error('the map should parse');
    expect(again.map).toBe(first.map);
    expect(first.sha256).toBe(h(A));
    expect(state.known()).toEqual({ sha256: h(A), map: first.map });
    fs.writeFile(MAP, C);
    const changed = await state.read();
    expect(changed.ok && changed.map).not.toBe(first.map);
    expect(state.map?.goals).toBe(2);
  });

  it('keeps the last good parse through a save that does not parse, reporting the error once and its end once', async () => {
    const { fs, state, events } = setup();
    await state.read();
    const good = state.map;
    fs.writeFile(MAP, '{"REVIEW": {');
    expect(await state.read()).toMatchObject({ ok: false });
    expect(await state.read()).toMatchObject({ ok: false });
    expect(state.map).toBe(good);
    expect(state.usable).toBe(false);
    expect(state.mapError).toMatch(/JSON/);
    fs.writeFile(MAP, A);
    expect((await state.read()).ok).toBe(true);
    expect(state.mapError).toBeUndefined();
    expect(events.filter((e) => e.startsWith('map'))).toEqual([expect.stringMatching(/^mapError /), 'mapOk 1']);
  });

  it('records a missing map and throws its typed error from snapshot (the reconcile stops on it)', async () => {
    const { state } = setup(null);
    await expect(state.snapshot()).rejects.toBeInstanceOf(MapUnavailableError);
    expect(state.mapError).toMatch(/does not exist/);
    expect(state.map).toBeUndefined();
    expect(state.usable).toBe(false);
  });

  it("an install's report of an unusable map is recorded like a read's, once per message", async () => {
    const { state, events } = setup();
    await state.read();
    state.unusable('map is a directory');
    state.unusable('map is a directory');
    expect(state.mapError).toBe('map is a directory');
    expect(events).toEqual(['mapError map is a directory']);
  });

  it('reports entries a fresh parse skipped, once per parse', async () => {
    const { state, events } = setup(`${JSON.stringify({ REVIEW: { protocol: '../escape.txt' } })}\n`);
    await state.read();
    await state.read();
    expect(events).toEqual(['problems 1']);
  });
  it('is neither usable nor known before its first read, and both after a good one', async () => {
    const { state } = setup();
    expect(state.usable).toBe(false);
    expect(state.known()).toBeUndefined();
    await state.read();
    expect(state.usable).toBe(true);
    expect(state.known()?.sha256).toBe(h(A));
  });

  it('reports an unusable map again when its reason changes, and not while it stays the same', () => {
    const { state, events } = setup();
    state.unusable('map is a directory');
    state.unusable('map is a directory');
    state.unusable('map is a symlink');
    expect(events).toEqual(['mapError map is a directory', 'mapError map is a symlink']);
  });

  it('needs no listener: problems, an error, its end and a failed write report to no one', async () => {
    const fs = new MemFs();
    fs.writeFile(MAP, `${JSON.stringify({ REVIEW: { protocol: '../escape.txt' } })}\n`);
    const state = new MapState(fs, MAP);
    expect((await state.read()).ok).toBe(true);
    state.unusable('map is a directory');
    expect((await state.read()).ok).toBe(true);
    expect(state.mapError).toBeUndefined();
    state.writeFailed('install', new Error('EIO'));
    expect(state.writeError).toBe('EIO');
  });
});

describe("MapState: jitd's own map write", () => {
  it('takes the written bytes and their parse as the map last read, so reading them back parses nothing', async () => {
    const { fs, state } = setup();
    await state.read();
    const parsed = { json: JSON.parse(B), entries: [], problems: [], goals: 1 };
    state.noteOwnWrite(Buffer.from(B), parsed, Buffer.from(A));
    fs.writeFile(MAP, B);
    const read = await state.read();
    expect(read.ok && read.map).toBe(parsed);
  });

  it('skips planning its own write on top of the map last planned, until something else is planned', async () => {
    const { state } = setup();
    expect(state.mustPlan(h(A), false)).toBe(true);
    state.noteOwnWrite(Buffer.from(B), undefined, Buffer.from(A));
    expect(state.mustPlan(h(B), false)).toBe(false);
    expect(state.mustPlan(h(B), false)).toBe(false); // a second event for the same write
    expect(state.mustPlan(h(B), true)).toBe(true); // forced: a component changed, a retry fell due
    expect(state.mustPlan(h(C), false)).toBe(true); // a person's save
    // The same bytes back later (a git checkout restoring the commit of jitd's write) are a person's change.
    expect(state.mustPlan(h(B), false)).toBe(true);
    expect(state.stats()).toEqual({ planned: 4, ownWriteSkipped: 2 });
  });

  it("plans its own write made on top of a person's save it has not planned yet", () => {
    const { state } = setup();
    expect(state.mustPlan(h(A), false)).toBe(true);
    state.noteOwnWrite(Buffer.from(B), undefined, Buffer.from(C)); // C: saved, its hint still queued
    expect(state.mustPlan(h(B), false)).toBe(true);
  });
  it('plans a write noted without the map it was made from, even before anything was planned', () => {
    const { state } = setup();
    state.noteOwnWrite(Buffer.from(B));
    expect(state.mustPlan(h(B), false)).toBe(true);
  });

  it('plans its own write made on top of a save not planned at the time, even once that save is planned', () => {
    const { state } = setup();
    expect(state.mustPlan(h(A), false)).toBe(true);
    state.noteOwnWrite(Buffer.from(B), undefined, Buffer.from(C));
    expect(state.mustPlan(h(C), false)).toBe(true);
    expect(state.mustPlan(h(B), false)).toBe(true);
  });
});

describe('MapState: write errors', () => {
  it('reports every failed write and keeps the last one until a write goes through', () => {
    const { state, events } = setup();
    state.writeFailed('install', new Error('ENOSPC: no space left on device'));
    state.writeFailed('sync', new Error('EIO: i/o error'));
    expect(state.writeError).toBe('EIO: i/o error');
    state.writeOk();
    expect(state.writeError).toBeUndefined();
    expect(events).toEqual(['writeError install: ENOSPC: no space left on device', 'writeError sync: EIO: i/o error']);
  });

  it('reports a failure thrown as something other than an Error by its text', () => {
    const { state } = setup();
    state.writeFailed('install', undefined);
    expect(state.writeError).toBe('undefined');
    state.writeFailed('install', 'disk full');
    expect(state.writeError).toBe('disk full');
  });
});

describe("MapState: jitd's own component writes", () => {
  it('recognises the event of a noted create once, and not an event of another kind or file', () => {
    const { state } = setup();
    state.noteComponent('protocols', 'autogen_protocol_for_review.txt', true);
    expect(state.isOwnComponent('protocols', 'autogen_protocol_for_review.txt', false)).toBe(false);
    expect(state.isOwnComponent('formats', 'autogen_protocol_for_review.txt', true)).toBe(false);
    expect(state.isOwnComponent('protocols', 'autogen_protocol_for_review.txt', true)).toBe(true);
    expect(state.isOwnComponent('protocols', 'autogen_protocol_for_review.txt', true)).toBe(false);
  });

  it('lets the removal event of a publish taken back cover the create before it', () => {
    const { state } = setup();
    state.noteComponent('personas', 'autogen_x.txt', true);
    state.noteComponent('personas', 'autogen_x.txt', false);
    expect(state.isOwnComponent('personas', 'autogen_x.txt', false)).toBe(true);
    expect(state.isOwnComponent('personas', 'autogen_x.txt', true)).toBe(false);
  });

  it('forgets a note whose event did not come in time: a later event is a hint like any other', () => {
    vi.useFakeTimers();
    const { state } = setup();
    state.noteComponent('personas', 'autogen_x.txt', true);
    vi.advanceTimersByTime(OWN_COMPONENT_TTL_MS);
    expect(state.isOwnComponent('personas', 'autogen_x.txt', true)).toBe(false);
  });

  it('drops the notes no event used up once per TTL, so a reconcile noting thousands holds no more than a TTL of them', () => {
    vi.useFakeTimers();
    const { state } = setup();
    // What is held is private; a note's memory is the point here, so this test reads its size.
    const held = () => (state as unknown as { ownComponents: Map<string, unknown> }).ownComponents.size;
    state.noteComponent('personas', 'x.txt', true); // at 0: the sweep runs, the next at TTL
    vi.advanceTimersByTime(5);
    state.noteComponent('personas', 'y.txt', true); // these two last until TTL + 5
    state.noteComponent('personas', 'v.txt', true);
    vi.advanceTimersByTime(OWN_COMPONENT_TTL_MS - 5);
    state.noteComponent('personas', 'z.txt', true); // at TTL: x's note is over and dropped, y's and v's are not
    expect(held()).toBe(3);
    expect(state.isOwnComponent('personas', 'y.txt', true)).toBe(true); // used up
    expect(held()).toBe(2);
    vi.advanceTimersByTime(5);
    state.noteComponent('personas', 'w.txt', true); // v's is over, but the next sweep is at 2 TTL
    expect(held()).toBe(3);
    expect(state.isOwnComponent('personas', 'w.txt', true)).toBe(true);
    expect(held()).toBe(2);
  });
});
