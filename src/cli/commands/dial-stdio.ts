/**
 * `jitctl dial-stdio`: bridges standard input and output to the daemon's local socket, byte for
 * byte (contract §10). It is what `jitctl --host ssh://…` runs on the far host; like
 * `docker system dial-stdio` it is not meant to be typed. It ends when either side ends: end of
 * input half-closes the socket (the daemon answers what it got, then closes), and the daemon
 * closing ends the output. No socket to reach is exit 3 with the usual message on stderr, which
 * ssh carries back to the jitctl that dialled.
 */
import { createConnection, type Socket } from 'node:net';
import { DaemonUnreachableError } from '../../ipc/client.js';
import type { Command } from '../command.js';
import { EXIT } from '../errors.js';

function connectLocal(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path, allowHalfOpen: true });
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ENOENT'
          ? `jitd is not running: no control socket at ${path}`
          : err.code === 'ECONNREFUSED'
            ? `jitd is not running: nothing is listening on ${path}`
            : err.code === 'EACCES' || err.code === 'EPERM'
              ? `permission denied on ${path} (run as the daemon's user or a member of its socketGroup)`
              : `cannot connect to ${path}: ${err.message}`;
      reject(new DaemonUnreachableError(why, err));
    });
  });
}

export const dialStdioCommand: Command = {
  name: 'dial-stdio',
  usage: 'dial-stdio',
  summary: 'bridge standard input and output to the local daemon socket (run by jitctl --host over ssh)',
  details: ['Uses --socket or --config (or JITD_SOCKET / JITD_CONFIG / ./config/jitd.json) on this host; never JITD_HOST.'],
  options: {},
  args: [0, 0],
  async run(ctx) {
    const socket = await connectLocal(await ctx.socketPath());
    const { stdin, stdout } = ctx.io;
    return new Promise<number>((resolve) => {
      let code: number = EXIT.OK;
      stdin.on('data', (chunk: Buffer) => {
        if (!socket.write(chunk)) {
          // Let go of standard input, so the process can exit while ssh's side is still open.
          (stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
          socket.once('drain', () => stdin.resume());
        }
      });
      stdin.on('end', () => socket.end());
      stdin.on('error', () => socket.end());
      socket.on('data', (chunk: Buffer) => {
        if (!stdout.write(chunk)) {
          socket.pause();
          stdout.once('drain', () => socket.resume());
        }
      });
      socket.on('error', (err) => {
        ctx.warn(`connection to jitd failed: ${err.message}`);
        code = EXIT.UNREACHABLE;
      });
      socket.on('close', () => {
        stdin.pause();
        // Ends our output once it is flushed; the far jitctl then sees the connection end.
        stdout.write('', () => resolve(code));
      });
    });
  },
};
