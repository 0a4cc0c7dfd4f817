/** Message `ping`: liveness check. Params none; result `{pong: true, pid}`. */
import { z } from 'zod';

export const PingParams = z.strictObject({});
export type PingParams = z.input<typeof PingParams>;
export interface PingResult {
  pong: true;
  pid: number;
}
