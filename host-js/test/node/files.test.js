// The browser entry names each of the component's files literally, as bundlers need: the list
// must be what jco wrote into generated/.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';

import { CORE_MODULES } from '../../src/common/component.js';

test("the browser entry names every core module jco wrote, as new URL('…', import.meta.url)", () => {
  const source = readFileSync(new URL('../../src/browser/index.js', import.meta.url), 'utf8');
  const named = [...source.matchAll(/new URL\('\.\.\/\.\.\/generated\/([^']+\.wasm)', import\.meta\.url\)/g)].map((m) => m[1]);
  const written = readdirSync(new URL('../../generated/', import.meta.url)).filter((name) => name.endsWith('.wasm'));
  assert.deepEqual(named.sort(), written.sort());
});

test('the modules compiled before the glue runs are every core module jco wrote', () => {
  const written = readdirSync(new URL('../../generated/', import.meta.url)).filter((name) => name.endsWith('.wasm'));
  assert.deepEqual([...CORE_MODULES].sort(), written.sort());
});
