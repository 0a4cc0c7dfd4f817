/**
 * Baseline: a bare chokidar 5 process with the options jitd uses, and nothing else.
 *
 *   node chokidar-watch.mjs --file FILE      watch FILE's directory at depth 0, only FILE (as jitd's map watcher)
 *   node chokidar-watch.mjs --tree DIR       watch DIR at depth 1 (as jitd's component watcher)
 *
 * Prints `ready` once chokidar is ready, then `<event> <path>` per event.
 */
import { dirname } from 'node:path';
import { watch } from 'chokidar';

const [mode, target] = process.argv.slice(2);
let w;
if (mode === '--file') {
  const dir = dirname(target);
  w = watch(dir, { ignoreInitial: true, depth: 0, ignored: (p) => p !== dir && p !== target });
} else if (mode === '--tree') {
  w = watch(target, { ignoreInitial: true, depth: 1 });
} else {
  console.error('usage: chokidar-watch.mjs --file FILE | --tree DIR');
  process.exit(2);
}
w.on('all', (event, path) => process.stdout.write(`${event} ${path}\n`));
w.on('error', (err) => process.stderr.write(`error ${err.message}\n`));
w.once('ready', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => void w.close().then(() => process.exit(0)));
