// Bundles the Node entry (src/node/index.js and the modules it imports) into one file,
// generated/node/index.js, which package.json's "node" condition names, and its Worker beside it.
// Node loads each ES module with a file read and its own resolution: some twenty of them took
// 10–11 ms of a cold start, the one file 2.5–3 (docs/ARCHITECTURE.md, "Start-up and memory").
// jco's glue stays a file of its own, shared with the browser entry.
//
//   node scripts/bundle.js     (run by `cargo xtask build`, before the tests, and by `npm test`)

import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));

await build({
  entryPoints: { index: root('src/node/index.js'), worker: root('src/node/worker.js') },
  outdir: root('generated/node'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  // Classes keep their names (`CuError`, `LimitError`), as error messages and `name` show them.
  keepNames: true,
  // The bundle sits two levels below the package as src/node/ does, so the paths the sources
  // build from `import.meta.url` (generated/'s files, the Worker) and these two imports mean the
  // same files from there: the glue, and the Worker's unit from the bundle beside it.
  external: ['../../generated/guest.js', './index.js'],
  logLevel: 'warning',
});
