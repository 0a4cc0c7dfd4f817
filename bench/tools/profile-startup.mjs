/** Profiles one daemon start on the large library: node bench/tools/profile-startup.mjs [--quick] → prints top functions. */
import { execFileSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { BENCH_DIR, WORK, largeLibrary, rmrf, startDaemon } from '../lib.mjs';
const lib = await largeLibrary();
const dir = join(WORK, 'prof-startup');
await rmrf(dir);
const d = startDaemon(lib.configFile, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
console.log('ready ms', await d.ready);
for (const l of d.lines) if (l.msg === 'reconciled' || l.msg === 'jitd starting') console.log(l.time, l.msg);
await d.stop();
const [f] = await fsp.readdir(dir);
console.log(execFileSync(process.execPath, [join(BENCH_DIR, 'tools/top-profile.mjs'), join(dir, f), '40'], { encoding: 'utf8' }));
