/**
 * Line framing, alone and over a real socket: lines split and joined across chunks, CRLF,
 * oversized lines reported once and discarded without being buffered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/ipc/framing.js';
import { startDaemonFixture, type DaemonFixture } from '../support/daemon-fixture.js';
import { rawClient } from '../support/raw-client.js';

function collect(max = 100) {
  const lines: string[] = [];
  let tooBig = 0;
  const splitter = new LineSplitter(max, { line: (b) => lines.push(b.toString('utf8')), tooBig: () => tooBig++ });
  return { splitter, lines, tooBig: () => tooBig };
}

describe('LineSplitter', () => {
  it('splits two lines that arrive in one chunk', () => {
    const c = collect();
    c.splitter.push(Buffer.from('{"a":1}\n{"b":2}\n'));
    expect(c.lines).toEqual(['{"a":1}', '{"b":2}']);
    expect(c.splitter.partial).toBe(false);
  });

  it('joins one line that arrives over many chunks, byte by byte, multi-byte characters included', () => {
    const c = collect();
    const bytes = Buffer.from('{"goal":"ÉTÉ_☃"}\n');
    for (const b of bytes) c.splitter.push(Buffer.from([b]));
    expect(c.lines).toEqual(['{"goal":"ÉTÉ_☃"}']);
  });

  it('strips the CR of CRLF line endings', () => {
    const c = collect();
    c.splitter.push(Buffer.from('one\r\ntwo\r'));
    c.splitter.push(Buffer.from('\n'));
    expect(c.lines).toEqual(['one', 'two']);
  });

  it('reports an oversized line once, as soon as it passes the limit, and keeps the lines after it', () => {
    const c = collect(10);
    c.splitter.push(Buffer.from('x'.repeat(30)));
    expect(c.tooBig()).toBe(1);
    expect(c.splitter.partial).toBe(true);
    c.splitter.push(Buffer.from('y'.repeat(50)));
    c.splitter.push(Buffer.from('zz\nok\n'));
    expect(c.tooBig()).toBe(1);
    expect(c.lines).toEqual(['ok']);
    expect(c.splitter.partial).toBe(false);
  });

  it('accepts a line of exactly the limit, CRLF included', () => {
    const c = collect(10);
    c.splitter.push(Buffer.from(`${'a'.repeat(10)}\r\n${'b'.repeat(11)}\n`));
    expect(c.lines).toEqual(['a'.repeat(10)]);
    expect(c.tooBig()).toBe(1);
  });

  it('treats a last line without a newline as a line at end of stream', () => {
    const c = collect();
    c.splitter.push(Buffer.from('tail'));
    c.splitter.end();
    expect(c.lines).toEqual(['tail']);
  });
});

describe('framing over the control socket', () => {
  let d: DaemonFixture;
  beforeAll(async () => {
    d = await startDaemonFixture();
  });
  afterAll(async () => {
    await d.close();
  });

  it('answers two requests sent in one chunk, in order', async () => {
    const c = await rawClient(d.socketPath);
    c.send('{"id":1,"method":"ping"}\n{"id":2,"method":"ping"}\n');
    expect((await c.next()).id).toBe(1);
    expect((await c.next()).id).toBe(2);
    c.close();
  });

  it('answers a request that arrives one byte at a time', async () => {
    const c = await rawClient(d.socketPath);
    for (const ch of '{"id":"slow","method":"ping"}\n') {
      c.send(ch);
      await new Promise((r) => setImmediate(r));
    }
    expect(await c.next()).toEqual({ id: 'slow', result: { pong: true, pid: process.pid } });
    c.close();
  });

  it('accepts CRLF line endings', async () => {
    const c = await rawClient(d.socketPath);
    c.send('{"id":7,"method":"ping"}\r\n');
    expect((await c.next()).result.pong).toBe(true);
    c.close();
  });

  it('ignores blank lines between requests', async () => {
    const c = await rawClient(d.socketPath);
    c.send('\n  \n{"id":8,"method":"ping"}\n');
    expect((await c.next()).id).toBe(8);
    c.close();
  });

  it('answers a final request without a newline when the client half-closes, then closes', async () => {
    const c = await rawClient(d.socketPath);
    c.socket.end('{"id":9,"method":"ping"}');
    expect((await c.next()).id).toBe(9);
    await c.closed;
  });
});
