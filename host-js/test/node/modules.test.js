// `require` through the package in Node: modules added by name, a module path read from disk
// when required and confined to its directories, Lua source as bytes, and values shown through
// `__tostring` (the rules every host shares are in tests/cases/modules.toml).

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { Cu, CuError } from '../../src/node/index.js';

function tree(files) {
  const root = mkdtempSync(join(tmpdir(), 'cu-modules-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

async function unit(options = {}) {
  const cu = new Cu({ print: () => {}, ...options });
  await cu.load();
  return cu;
}

test('modules come from addModule, then the module path, read when required', async () => {
  const root = tree({ 'lib/shape.lua': "return 'from the file'", 'lib/app/init.lua': 'return ...' });
  const cu = await unit({ modulePath: [join(root, 'lib'), join(root, 'lib', '?.lua')] });
  cu.addModule('shape', 'return "added"');
  // Written after the unit was made: nothing is read before `require` asks.
  writeFileSync(join(root, 'lib/late.lua'), 'return { made = "late" }');
  assert.deepEqual(await cu.compute("return (require('shape')), require('late').made, require('app')"), [
    'added',
    'late',
    'app',
    join(root, 'lib/app/init.lua'),
  ]);
  cu.reset();
  assert.equal(await cu.compute("return (require('shape'))"), 'added', 'added modules survive a reset');
  await assert.rejects(cu.compute("return require('nowhere')"), (error) => {
    assert.ok(error instanceof CuError && error.kind === 'runtime');
    assert.ok(error.message.includes(`no file '${join(root, 'lib/nowhere.lua')}'`), error.message);
    assert.ok(error.message.endsWith("no field _home.modules['nowhere']"), error.message);
    return true;
  });
});

test('modules cannot reach outside their directory', async () => {
  const root = tree({ 'secret.lua': "return 'the secret'", 'lib/real.lua': "return 'inside'" });
  symlinkSync(join(root, 'secret.lua'), join(root, 'lib/link.lua'));
  symlinkSync('real.lua', join(root, 'lib/alias.lua'));
  const cu = await unit({ modulePath: join(root, 'lib') });
  for (const name of ['../secret', 'a/b', '..x']) {
    await assert.rejects(cu.compute(`return require(${JSON.stringify(name)})`), /is not valid/);
  }
  await assert.rejects(cu.compute("return require('link')"), /cannot load module 'link': cannot read '.*link\.lua': it leads outside/);
  assert.equal(await cu.compute("return (require('alias'))"), 'inside');
  assert.throws(() => new Cu({ modulePath: join(root, 'missing') }), /module directory '.*missing' does not exist/);
  assert.throws(() => cu.addModule('a/b', 'return 1'), /is not valid/);
  assert.throws(() => cu.addModule('ok', 42), /must be a string or a Uint8Array/);
});

test('a module larger than the memory limit is refused before it is read', async () => {
  const root = tree({ 'big.lua': `return '${'x'.repeat(3 << 20)}'` });
  const cu = await unit({ modulePath: root, memoryLimit: 2 << 20 });
  await assert.rejects(cu.compute("return require('big')"), /holds 3145737 bytes, more than the unit's memory limit of 2097152 bytes/);
  assert.equal(await cu.compute('return 1'), 1);
});

test('Lua source is bytes: a Uint8Array runs as Lua reads it', async () => {
  const cu = await unit();
  const latin1 = Uint8Array.from([...new TextEncoder().encode("local s = 'caf"), 0xe9, ...new TextEncoder().encode("' return #s, s:byte(4)")]);
  assert.deepEqual(await cu.compute(latin1), [4, 0xe9]);
  cu.addModule('latin', Uint8Array.from([...new TextEncoder().encode("return '"), 0xe9, 0xe9, 39]));
  assert.equal(await cu.compute("return #require('latin')"), 2);
  assert.throws(() => cu.computeAll(42), /code must be a string or a Uint8Array, not number/);
  assert.throws(() => cu.computeAll(Uint8Array.from([0x1b, 0x4c, 0x75, 0x61])), /binary chunk/);
});

test('text results go through __tostring, as the lua REPL prints them', async () => {
  const cu = await unit();
  const { values } = cu.computeAll("return setmetatable({}, {__tostring = function() return 'T!' end}), setmetatable({}, {__name = 'Point'}), {1}", { text: true });
  assert.equal(values[0], 'T!');
  assert.match(values[1], /^Point: 0x[0-9a-f]+$/);
  assert.equal(values[2], '{1}');
});

test('allow gives the debug library, and refuses names it does not know', async () => {
  const trusted = await unit({ allow: ['debug'] });
  assert.equal(await trusted.compute("return debug.getinfo(1, 'S').what"), 'main');
  const sandboxed = await unit();
  assert.equal(await sandboxed.compute('return debug.getinfo'), undefined);
  assert.throws(() => new Cu({ allow: ['io'] }), /allow: unknown "io"; the sandbox can add debug/);
  assert.throws(() => new Cu({ allow: 'debug' }), /allow must be an array of names/);
});
