// The Node quick start in Deno and Bun, both installed from the npm registry (dev dependencies):
// the package's Node entry runs there as written, and its default store (node:sqlite, which both
// provide) carries `_home` from one run to the next.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const example = fileURLToPath(new URL('../../examples/quickstart.js', import.meta.url));
const bin = (name) => fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));

/** Each runtime's command for a script, from the package's own node_modules. */
const runtimes = {
  deno: [bin('deno'), 'run', '--allow-all'],
  bun: [bin('bun')],
};

/** Bun's console.log spreads an object over lines, with a trailing comma, where Node and Deno keep
 * it on one line. */
const words = (text) => text.replace(/,(\s*})/g, '$1').split(/\s+/).filter(Boolean).join(' ');

for (const [name, [program, ...args]] of Object.entries(runtimes)) {
  const version = execFileSync(program, ['--version'], { encoding: 'utf8' }).split('\n')[0].trim();
  test(`the Node quick start runs as written in ${name} (${version})`, () => {
    const dir = mkdtempSync(join(tmpdir(), `cu-${name}-`));
    const { CU_STORE, ...env } = process.env; // the quick start's own default store
    const run = () => execFileSync(program, [...args, example], { cwd: dir, encoding: 'utf8', env });
    assert.equal(words(run()), '4 1 { average: 30, sum: 150 }');
    assert.equal(words(run()), '4 2 { average: 30, sum: 150 }', '_home.counter carried on in .cu/home.sqlite');
  });
}
