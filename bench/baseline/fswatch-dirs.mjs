/**
 * Reference: node's non-recursive fs.watch on DIR and on each of its subdirectories (one inotify
 * watch per directory), printing `<eventType> <dir>/<name>` per event. Used beside the chokidar
 * baseline to show what a per-directory backend costs on the same tree.
 */
import { watch } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

const dir = process.argv[2];
const watchers = [];
const on = (d) => (eventType, name) => process.stdout.write(`${eventType} ${d}/${name}\n`);
watchers.push(watch(dir, on(dir)));
for (const e of await readdir(dir, { withFileTypes: true })) {
  if (e.isDirectory()) watchers.push(watch(join(dir, e.name), on(join(dir, e.name))));
}
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  for (const w of watchers) w.close();
  process.exit(0);
});
