// One file of Lua's test suite through the package in Node, for `cargo xtask conformance`:
// `node scripts/conformance.js MODULE PRELUDE...`, run in the suite's directory: each prelude runs
// first, then the file MODULE.lua is required along `?.lua` (so that its chunk is named
// `@MODULE.lua`, as `lua` names it). Exits 0 when the file runs to its end, 1 with the error on
// stderr when it fails.

import { Cu } from '../src/node/index.js';

const [module, ...preludes] = process.argv.slice(2);
const cu = new Cu({ allow: ['debug'], modulePath: '?.lua', store: 'memory', timeLimit: 0, memoryLimit: 2 ** 31 });
await cu.load();
try {
  for (const prelude of preludes) cu.computeAll(prelude, { chunkName: '(command line)' });
  cu.computeAll(`require(${JSON.stringify(module)})`, { chunkName: 'run.lua' });
} catch (error) {
  process.stderr.write(`${error.message}\n${error.traceback ?? ''}\n`);
  process.exit(1);
}
