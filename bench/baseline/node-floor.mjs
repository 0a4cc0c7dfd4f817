/**
 * Reference for P3: the least a Node daemon must do to start on the library — boot Node, list
 * every type directory (readdir) and parse the map (JSON.parse) — and nothing else.
 *
 *   node node-floor.mjs COMPONENTS_DIR MAP_FILE      prints `files goals`
 */
import { readdirSync, readFileSync } from 'node:fs';

const [dir, mapFile] = process.argv.slice(2);
let files = 0;
for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) files += readdirSync(`${dir}/${d.name}`).length;
const goals = Object.keys(JSON.parse(readFileSync(mapFile, 'utf8'))).length;
process.stdout.write(`${files} ${goals}\n`);
