// `node bench/storage.js [RUNS]`: the storage API at scale in Node, on the memory store (the
// IndexedDB store's in-memory side): 100,000 records `{id, name, score, created}` written in one
// call (bench/app-users.lua, as host-rust/benches/query.rs fills its table), then an index built
// over them. Medians of RUNS (default 3), each in a fresh unit.

import { readFileSync } from 'node:fs';

import { Cu } from '../src/node/index.js';
import { median } from './median.js';

const FILL = readFileSync(new URL('../../bench/app-users.lua', import.meta.url));

const runs = Number(process.argv[2] ?? 3);
const [fills, builds] = [[], []];
for (let run = 0; run < runs; run++) {
  const unit = new Cu({ store: 'memory', memoryLimit: 0, timeLimit: 0 });
  await unit.load();
  let start = performance.now();
  await unit.compute(FILL);
  fills.push(performance.now() - start);
  start = performance.now();
  await unit.createIndex('appUsers', 'score');
  builds.push(performance.now() - start);
  const [hit] = await unit.queryTable('appUsers', { field: 'score', operator: '>=', value: 999, limit: 1 });
  if (hit?.value.score !== 999) throw new Error(`the index answered ${JSON.stringify(hit)}`);
  unit.close();
}
console.log(`| 100,000 records in one call (memory store, of ${runs}) | ${median(fills).toFixed(0)} ms |`);
console.log(`| an index on \`score\` built over them | ${median(builds).toFixed(0)} ms |`);
