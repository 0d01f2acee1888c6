// The browser entry names each of the component's files literally, as bundlers need: the list
// must be what jco wrote into generated/.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';

import { CORE_MODULES } from '../../src/common/component.js';

/** The core modules jco wrote into generated/, by name, sorted. */
const written = () =>
  readdirSync(new URL('../../generated/', import.meta.url))
    .filter((name) => name.endsWith('.wasm'))
    .sort();

test("the browser entry names every core module jco wrote, as new URL('…', import.meta.url)", () => {
  const source = readFileSync(new URL('../../src/browser/index.js', import.meta.url), 'utf8');
  const named = [...source.matchAll(/new URL\('\.\.\/\.\.\/generated\/([^']+\.wasm)', import\.meta\.url\)/g)].map((m) => m[1]);
  assert.deepEqual(named.sort(), written());
});

test('the modules compiled before the glue runs are every core module jco wrote', () => {
  assert.deepEqual([...CORE_MODULES].sort(), written());
});
