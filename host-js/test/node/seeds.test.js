// The seeds' JavaScript as written (test/seeds/*.js hold every block of their READMEs): each
// seed's blocks run one after another in a new Node process, as the scripts of one page do, with
// only their import lines changed to import the package: top-level `const` and `let` become
// `var`, since the scripts of a page share their globals (a block redeclares `result`, or uses
// the `io` or `largeDataset` an earlier block made), and a block that fails does not stop the
// next. Where a seed's Lua is not Lua (seed 004's default parameter), the block must fail with the
// unit's error, and the test names it; where a block uses a variable the page is assumed to have
// (seed 004's `userCode`), the harness gives it one. The page's timers are the harness's: a block that only sets
// an interval for later (seed 000's saving every 5 s) leaves it unset.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../../src/node/index.js', import.meta.url));

/**
 * Seed `name`'s blocks as one module, importing the package under every name the seeds use; it
 * prints each block's failure as a line `block N failed: MESSAGE`.
 */
function page(name) {
  const text = readFileSync(new URL(`../seeds/${name}.js`, import.meta.url), 'utf8');
  const blocks = text.split(/^\/\/ --- block \d+\n/m).slice(1);
  const body = blocks.map((block, i) => {
    const code = block.replace(/^import .*;$/gm, '').replace(/^(const|let) /gm, 'var ');
    return `try {\n${code}\n} catch (error) { console.log(\`block ${i + 1} failed: \${error?.message ?? error}\`); }`;
  });
  return [
    `import cu, { IoWrapper, LuaWASM } from ${JSON.stringify(entry)};`,
    // Seed 001 imports the default unit as `lua`; seed 000's later blocks call it `lua` too.
    'var lua = cu;',
    'globalThis.setInterval = () => 0;',
    // Seed 004's Security section validates the page's own `userCode`.
    "var userCode = 'function(x) return x * 2 end';",
    ...body,
  ].join('\n');
}

/** The lines of `out` that report a failed block. */
function failures(out) {
  return out.split('\n').filter((line) => /^block \d+ failed: /.test(line));
}

/** Runs seed `name` in a new process in a new directory (the default store is a file there). */
function run(name) {
  const env = { ...process.env };
  delete env.CU_STORE;
  return execFileSync(process.execPath, ['--input-type=module', '-e', page(name)], {
    cwd: mkdtempSync(join(tmpdir(), `cu-seed-${name}-`)),
    env,
    encoding: 'utf8',
  });
}

test("seed 000's JavaScript runs as written", () => {
  const out = run('000');
  assert.deepEqual(failures(out), []);
  assert.match(out, /^Hello from Lua!\n/);
  assert.match(out, /\{ average: 30, sum: 150 \}/);
  assert.match(out, /Top scorers:/);
});

test("seed 001's JavaScript runs as written", () => {
  const out = run('001');
  assert.deepEqual(failures(out), []);
  assert.match(out, /^Hello from Lua!\n/);
});

test("seed 004's JavaScript runs as written", () => {
  const out = run('004');
  // Its Lua gives `deductions` a default value, which Lua has no syntax for: the unit refuses
  // the function with the compiler's message and line, and the rest of that block does not run.
  assert.deepEqual(failures(out), ["block 2 failed: taxCalculator:2: ')' expected near '='"]);
});
