// `node bench/compare.js OTHER [RUNS]`: this package's component against another build's, on the
// Lua programs of bench/programs, in one process, the two taking turns run by run (medians of
// RUNS, default 7). OTHER is the host-js directory of another checkout, built (its generated/
// made by `cargo xtask build`). Beside wasmoon the programs move by several percent from one run
// of `npm run bench` to the next; taking turns in one process tells two builds apart.

import { readFileSync, readdirSync } from 'node:fs';

import { median } from './median.js';
import { sidesFromArgs } from './sides.js';

const { sides, runs } = await sidesFromArgs('compare.js');
const programs = new URL('../../bench/programs/', import.meta.url);

/** The time of one run of `code` in a fresh unit of `Cu` (making the unit is not timed). */
async function run(Cu, name, code) {
  const unit = new Cu({ timeLimit: 0, store: 'memory', print() {} });
  await unit.load();
  unit.init();
  const start = performance.now();
  unit.computeAll(code, { chunkName: name });
  const took = performance.now() - start;
  unit.close();
  return took;
}


console.log(`| program | this (ms) | other (ms) | this/other |\n|---|---:|---:|---:|`);
let logs = 0;
const files = readdirSync(programs).filter((file) => file.endsWith('.lua'));
for (const file of files) {
  const code = readFileSync(new URL(file, programs), 'utf8');
  const times = { this: [], other: [] };
  for (const side of ['this', 'other']) await run(sides[side], file, code);
  for (let i = 0; i < runs; i++) {
    for (const side of i % 2 === 0 ? ['this', 'other'] : ['other', 'this']) times[side].push(await run(sides[side], file, code));
  }
  const [mine, theirs] = [median(times.this), median(times.other)];
  logs += Math.log(mine / theirs);
  console.log(`| ${file.replace(/\.lua$/, '')} | ${mine.toFixed(1)} | ${theirs.toFixed(1)} | ${(mine / theirs).toFixed(3)}× |`);
}
console.log(`\ngeometric mean of this/other: ${Math.exp(logs / files.length).toFixed(3)}× (medians of ${runs})`);
