// A unit in a worker_threads Worker (`worker: true`): the same values and errors, every method
// async, and a call that the component cannot stop in time (one long C call) stopped by
// terminating the Worker, with _home intact in its store and the globals gone.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { Cu, LimitError, LuaRuntimeError, LuaSyntaxError, MemoryStore, float } from '../../src/node/index.js';

function sqlite() {
  return `sqlite:${join(mkdtempSync(join(tmpdir(), 'cu-worker-')), 'home.sqlite')}`;
}

test('a Worker unit gives the same values and errors, asynchronously', async () => {
  const printed = [];
  const unit = new Cu({ worker: true, store: sqlite(), print: (text) => printed.push(text) });
  try {
    await unit.load();
    assert.deepEqual(await unit.compute('print("hi") return 1 + 1, {a = 1, list = {1, 2}}'), [2, { a: 1, list: [1, 2] }]);
    assert.deepEqual(printed, ['hi\n']);
    assert.equal(await unit.call('math.type', float(2)), 'float', 'float() crosses to the Worker');
    assert.deepEqual((await unit.computeAll('return 1.5, "s"', { text: true })).values, ['1.5', '"s"']);
    await unit.setInput({ n: 20 });
    await unit.compute('_io.output = _io.input.n + 1');
    assert.equal(await unit.getOutput(), 21);
    await assert.rejects(unit.compute('error({code = 7})'), (error) => {
      assert.ok(error instanceof LuaRuntimeError);
      assert.deepEqual(error.value, { code: 7 });
      return true;
    });
    await assert.rejects(unit.compute('return +'), (error) => error instanceof LuaSyntaxError && error.line === 1);
  } finally {
    unit.close();
  }
});

test('a call the component cannot stop is stopped with its Worker; _home stays, globals go', async () => {
  const unit = new Cu({ worker: true, store: sqlite(), timeLimit: 200, memoryLimit: 3 * 2 ** 30 });
  try {
    await unit.load();
    await unit.compute('kept_global = 1 _home.kept = "yes"');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = Date.now();
    await assert.rejects(unit.compute("return #string.rep('x', 1 << 30)"), (error) => {
      assert.ok(error instanceof LimitError, `${error}`);
      assert.equal(error.limit, 'time');
      assert.equal(error.reset, true);
      assert.match(error.message, /its Worker was stopped and a new one started: the unit's globals are gone, _home is intact/);
      return true;
    });
    clearInterval(timer);
    assert.ok(Date.now() - started < 2000, 'stopped soon after the limit');
    assert.ok(ticks >= 5, `the main thread kept running (${ticks} ticks)`);
    assert.deepEqual(await unit.compute('return kept_global, _home.kept'), [undefined, 'yes']);
  } finally {
    unit.close();
  }
});

test('a Worker unit takes its store by name', () => {
  assert.throws(() => new Cu({ worker: true, store: new MemoryStore() }), /a store object cannot move into a Worker/);
});

test("seed 004's LuaWASM.init gives a Worker unit with worker: true", async () => {
  const { LuaWASM } = await import('../../src/node/index.js');
  const lua = await LuaWASM.init({ worker: true, store: sqlite() });
  try {
    await lua.compute('Memory.greeting = "hi"');
    assert.equal(await lua.eval('return _home.greeting'), 'hi');
  } finally {
    lua.close();
  }
});

test('the default unit moves into a Worker with configure, before it loads', async () => {
  const { default: cu } = await import('../../src/node/index.js');
  cu.configure({ worker: true, store: sqlite(), timeLimit: 200, memoryLimit: 3 * 2 ** 30 });
  try {
    await cu.load();
    assert.equal(await cu.compute('return 40 + 2'), 42);
    await assert.rejects(cu.compute("return #string.rep('x', 1 << 30)"), (error) => error instanceof LimitError && error.reset === true);
    assert.equal(await cu.compute('return 1'), 1);
  } finally {
    cu.close();
  }
  const loaded = new Cu({ store: 'memory' });
  await loaded.load();
  assert.throws(() => loaded.configure({ timeLimit: 1 }), /configure a unit before it loads/);
});
