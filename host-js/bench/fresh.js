// `node bench/fresh.js OTHER [RUNS]`: a new unit made in a warm process (`new Cu`, `load`, `init`,
// the instance a closed unit left), in this package and in another build's (OTHER, a built
// host-js directory), taking turns in one process; medians of RUNS (default 400).

import { median } from './median.js';
import { sidesFromArgs } from './sides.js';

const { sides, runs } = await sidesFromArgs('fresh.js', 400);

const times = { this: [], other: [] };
for (let run = -1; run < runs; run++) {
  for (const [name, Cu] of Object.entries(sides)) {
    const start = performance.now();
    const unit = new Cu({ store: 'memory' });
    await unit.load();
    unit.init();
    // The first round warms both sides up and is not counted.
    if (run >= 0) times[name].push(performance.now() - start);
    if ((await unit.compute('return 1')) !== 1) throw new Error(`${name}'s unit did not run`);
    unit.close();
  }
}
const [mine, theirs] = [median(times.this) * 1e3, median(times.other) * 1e3];
console.log(`a new unit in a warm process: this ${mine.toFixed(1)} µs, other ${theirs.toFixed(1)} µs, this/other ${(mine / theirs).toFixed(2)}× (medians of ${runs})`);
