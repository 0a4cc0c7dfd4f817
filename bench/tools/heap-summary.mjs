/** Summarises a .heapsnapshot: total self size by node type/name. node bench/tools/heap-summary.mjs FILE [N] */
import { readFileSync } from 'node:fs';
const [file, n = '25'] = process.argv.slice(2);
const snap = JSON.parse(readFileSync(file, 'utf8'));
const f = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const W = f.length,
  iType = f.indexOf('type'),
  iName = f.indexOf('name'),
  iSize = f.indexOf('self_size');
const by = new Map();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += W) {
  const type = types[snap.nodes[i + iType]];
  const name = type === 'object' || type === 'closure' || type === 'native' ? snap.strings[snap.nodes[i + iName]] : '';
  const key = `${type}:${name}`.slice(0, 80);
  const size = snap.nodes[i + iSize];
  total += size;
  const e = by.get(key) ?? { size: 0, count: 0 };
  e.size += size;
  e.count++;
  by.set(key, e);
}
console.log(`total ${(total / 2 ** 20).toFixed(1)} MiB`);
for (const [k, v] of [...by.entries()].sort((a, b) => b[1].size - a[1].size).slice(0, Number(n)))
  console.log(`${(v.size / 2 ** 20).toFixed(2).padStart(8)} MiB ${String(v.count).padStart(8)}  ${k}`);
