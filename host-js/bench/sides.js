// The two sides of a comparison between builds (compare.js, grow.js, fresh.js): this package's
// `Cu` and that of OTHER, the built host-js directory of another checkout, from the command line
// `OTHER [RUNS]` (RUNS default 7, or the script's own).

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * `{ sides: { this, other }, runs }` from `process.argv`; `script` names the usage, `defaultRuns`
 * is RUNS when the command line gives none.
 */
export async function sidesFromArgs(script, defaultRuns = 7) {
  const [other, runsText = String(defaultRuns)] = process.argv.slice(2);
  const runs = Number(runsText);
  if (other === undefined || !(runs >= 1)) throw new Error(`usage: node bench/${script} OTHER_HOST_JS_DIR [RUNS]`);
  const sides = {
    this: (await import('../src/node/index.js')).Cu,
    other: (await import(pathToFileURL(resolve(other, 'src/node/index.js')).href)).Cu,
  };
  return { sides, runs };
}
