// `node bench/grow.js OTHER [RUNS]`: a fresh unit, on an instance of its own, growing its heap to
// some 300 MiB (3,000,000 small tables), in this package and in another build's (OTHER, a built
// host-js directory), taking turns in one process; medians of RUNS (default 7). Every unit is
// closed with more than 128 MiB of memory, so the next one gets a new instance.

import { median } from './median.js';
import { sidesFromArgs } from './sides.js';

const { sides, runs } = await sidesFromArgs('grow.js');
const FILL = 'local t = {} for i = 1, 3e6 do t[i] = { i } end return #t';

const times = { this: [], other: [] };
for (let run = 0; run < runs; run++) {
  for (const [name, Cu] of Object.entries(sides)) {
    const unit = new Cu({ store: 'memory', memoryLimit: 0, timeLimit: 0 });
    await unit.load();
    unit.init();
    const start = performance.now();
    if ((await unit.compute(FILL)) !== 3e6) throw new Error(`${name} filled the wrong table`);
    times[name].push(performance.now() - start);
    unit.close();
  }
}
const [mine, theirs] = [median(times.this), median(times.other)];
console.log(`a fresh unit filling 3,000,000 tables: this ${mine.toFixed(0)} ms, other ${theirs.toFixed(0)} ms, this/other ${(mine / theirs).toFixed(2)}× (medians of ${runs})`);
