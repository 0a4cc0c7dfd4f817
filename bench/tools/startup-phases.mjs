/** Prints the daemon's start-up log lines with ms since spawn, on the large library: node bench/tools/startup-phases.mjs [--quick] */
import { largeLibrary, rmrf, startDaemon } from '../lib.mjs';
const lib = await largeLibrary();
for (let run = 0; run < 3; run++) {
  await rmrf(lib.stateDir);
  const t0 = Date.now();
  const d = startDaemon(lib.configFile);
  const ms = await d.ready;
  console.log(`run ${run}: ready ${ms.toFixed(0)} ms`);
  for (const l of d.lines) console.log(`  ${String((l.time ?? 0) - t0).padStart(5)} ms  ${l.msg}${l.ms !== undefined ? ` (ms ${l.ms})` : ''}`);
  await d.stop();
}
