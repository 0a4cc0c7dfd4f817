/** Handler of `ping`. */
import { PingParams } from '../messages/ping.js';
import { defineHandler } from './handler.js';

export const handlePing = defineHandler({
  method: 'ping',
  params: PingParams,
  async handle() {
    return { pong: true as const, pid: process.pid };
  },
});
