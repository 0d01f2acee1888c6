// The seed API end to end in Node: load/init/compute, values both ways, _io and IoWrapper,
// _home from Lua and from JavaScript, snapshots, errors and limits.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, test } from 'node:test';

import cu, {
  BatchError,
  ConversionError,
  Cu,
  CuError,
  IoWrapper,
  LimitError,
  LuaRuntimeError,
  LuaSyntaxError,
  StoreError,
  checkNode,
  float,
} from '../../src/node/index.js';

/** A fresh unit with its own memory store, `print` collected in `printed`. */
function unit(options = {}) {
  const printed = [];
  const made = new Cu({ print: (text) => printed.push(text), timeLimit: 2000, ...options });
  made.printed = printed;
  return made;
}

before(async () => {
  await cu.load();
});

test('the seeds quick start: load, init, compute', async () => {
  assert.equal(cu.init(), 0);
  assert.equal(await cu.compute('return 2 + 2'), 4);
  assert.equal(await cu.compute('return "Hello from Lua!"'), 'Hello from Lua!');
  await cu.compute(`
    function _home.fibonacci(n)
      if n <= 1 then return n end
      return _home.fibonacci(n - 1) + _home.fibonacci(n - 2)
    end`);
  assert.equal(await cu.saveState(), true);
  assert.equal(await cu.compute('return _home.fibonacci(10)'), 55);
});

test('compute resolves to nothing, one value or an array of several', async () => {
  const u = unit();
  assert.equal(await u.compute('x = 1'), undefined);
  assert.deepEqual(await u.compute('return 1, nil, "three"'), [1, undefined, 'three']);
  assert.deepEqual(u.computeAll('return {1, 2}').values, [[1, 2]]);
  assert.deepEqual(u.computeAll('return 1.0, "s", {a = 1}', { text: true }).values, ['1.0', '"s"', '{a = 1}']);
});

test('values from Lua: integers exact, bigint beyond 2^53, bytes, tables', async () => {
  const u = unit();
  const [max, min, safe, one, nan, bytes, map, sparse, nested] = u.computeAll(`
    return math.maxinteger, math.mininteger, 2^53 // 1 - 1, 1.0, 0/0, "\\xff\\x00",
      {[true] = 1, [2] = "two"}, {[1] = "a", [3] = "c"}, {list = {null, 2}}`).values;
  assert.equal(max, 2n ** 63n - 1n);
  assert.equal(min, -(2n ** 63n));
  assert.equal(safe, 2 ** 53 - 1);
  assert.equal(one, 1);
  assert.ok(Number.isNaN(nan));
  assert.deepEqual(bytes, new Uint8Array([0xff, 0]));
  assert.deepEqual(map, new Map([[true, 1], [2, 'two']]));
  assert.deepEqual(sparse, new Map([[1, 'a'], [3, 'c']]));
  assert.deepEqual(nested, { list: [null, 2] });
});

test('values into Lua: the types arrive as documented', async () => {
  const u = unit();
  u.setInput({
    int: 3,
    big: 2n ** 62n,
    float: 1.5,
    floatOne: float(1),
    bytes: new Uint8Array([0xff]),
    list: [1, null, undefined],
    map: new Map([[1, 'one'], [true, 'yes']]),
    skipped: undefined,
  });
  const types = await u.compute(`
    local i = _io.input
    return math.type(i.int), i.big == 1 << 62, math.type(i.float), math.type(i.floatOne),
      i.bytes == "\\xff", #i.list, i.list[2] == null, i.map[1], i.map[true], i.skipped`);
  assert.deepEqual(types, ['integer', true, 'float', 'float', true, 3, true, 'one', 'yes', undefined]);
  const loop = {};
  loop.self = loop;
  assert.throws(() => u.setInput(loop), (e) => e instanceof ConversionError && e.path === 'input.self');
  assert.throws(() => u.setInput({ f() {} , g: Symbol('x') }), /input.g is a symbol/);
  // Errors name the place of the value, however deep, and only its own place.
  const at = (value) => {
    try {
      u.setInput(value);
    } catch (error) {
      return error instanceof ConversionError ? error.path : error;
    }
  };
  assert.equal(at({ ok: [1, 2], users: [{ name: 'a' }, { name: 'b', tags: ['x', () => 1] }] }), 'input.users[2].tags[2]');
  assert.equal(at({ 'two words': { 3: { x: Symbol('s') } } }), 'input["two words"]["3"].x');
  assert.equal(at({ m: new Map([['k', 1], [{}, 2]]) }), 'input.m["[object Object]"]');
  assert.equal(at({ m: new Map([[NaN, 1]]) }), 'input.m["NaN"]');
  let deep = 1;
  for (let i = 0; i < 600; i++) deep = [deep];
  assert.match(at({ deep }), /^input\.deep(\[1\]){512}$/);
  // Fields left out are not counted: the table has exactly the others, in their order.
  u.setInput({ a: 1, gone: undefined, f() {}, b: 'é', c: 'plain' });
  assert.deepEqual(await u.compute('local n = 0 for _ in pairs(_io.input) do n = n + 1 end return n, _io.input.b, _io.input.c'), [3, 'é', 'plain']);
  u.setInput({ huge: 2n ** 64n, list: [2n ** 70n] });
  assert.deepEqual(await u.compute('local b = require("bigint") return b.isbigint(_io.input.huge), tostring(_io.input.list[1])'), [
    true,
    String(2n ** 70n),
  ]);
});

test('the seeds _io example and the IoWrapper', async () => {
  const u = unit();
  u.setInput({
    users: [
      { id: 1, name: 'Alice', score: 95 },
      { id: 2, name: 'Bob', score: 87 },
      { id: 3, name: 'Charlie', score: 92 },
    ],
    threshold: 90,
  });
  await u.compute(`
    local highScorers = {}
    for i, user in ipairs(_io.input.users) do
      if user.score >= _io.input.threshold then
        table.insert(highScorers, { name = user.name, score = user.score })
      end
    end
    _io.output = { highScorers = highScorers, count = #highScorers }`);
  assert.deepEqual(u.getOutput(), {
    count: 2,
    highScorers: [
      { name: 'Alice', score: 95 },
      { name: 'Charlie', score: 92 },
    ],
  });
  assert.equal(u.getOutputField('count'), 2);
  u.setInputField('threshold', 99);
  assert.deepEqual(await u.compute('return _io.input.threshold, #_io.input.users'), [99, 3]);
  u.setMetadata({ requestId: 'r1' });
  assert.equal(await u.compute('return _io.meta.requestId'), 'r1');
  u.clearIo();
  assert.equal(await u.compute('return _io.input'), undefined);

  const io = new IoWrapper(u);
  const result = await io.computeWithIo(
    `local sum = 0
     for i, v in ipairs(_io.input.dataset) do sum = sum + v end
     _io.output = { sum = sum, average = sum / #_io.input.dataset }`,
    { dataset: [10, 20, 30, 40, 50] },
  );
  assert.deepEqual(result.output, { sum: 150, average: 30 });

  const items = Array.from({ length: 2500 }, (_, id) => ({ id, value: id / 2 }));
  const progress = [];
  const outputs = await io.processStream(
    `local out = {}
     for i, item in ipairs(_io.input.batch) do out[i] = { id = item.id, doubled = item.value * 2 } end
     _io.output = out`,
    items,
    { batchSize: 1000, onProgress: (p) => progress.push(p) },
  );
  assert.deepEqual(outputs.map((o) => o.length), [1000, 1000, 500]);
  assert.deepEqual(outputs[2].at(-1), { id: 2499, doubled: 2499 });
  assert.deepEqual(progress.at(-1), { batches: 3, items: 2500, total: 2500 });
  await assert.rejects(
    io.processStream('if _io.input.batch[1] > 2 then error("too big") end', [1, 2, 3, 4], { batchSize: 2 }),
    (e) => e instanceof BatchError && e.batch === 2 && e.first === 3 && e.outputs.length === 1 && /too big/.test(e.message),
  );

  await u.compute('function greet(p) return { text = "hello, " .. p.name } end');
  assert.deepEqual(await io.request('greet', { name: 'cu' }), { text: 'hello, cu' });
});

test('Lua bigints arrive as bigints and go back, through _io and _home', async () => {
  const u = unit();
  assert.deepEqual(await u.compute('local b = require("bigint") return b.new(2) ^ 100, { fee = b.new(-5) }'), [
    2n ** 100n,
    { fee: -5n },
  ]);
  await u.compute('_home.balance = require("bigint").new("1000000000000000000") * 3');
  assert.equal(u.homeGet('balance'), 3000000000000000000n);
  u.homeSet('credit', 2n ** 80n);
  assert.equal(await u.compute('return tostring(_home.credit + _home.balance)'), String(2n ** 80n + 3000000000000000000n));
});

test('print goes to the printer; errors are CuErrors with the Lua details', async () => {
  const u = unit();
  await u.compute('print("hello", 42, nil)');
  assert.deepEqual(u.printed, ['hello\t42\tnil\n']);
  await assert.rejects(u.compute('return +'), (e) => e instanceof LuaSyntaxError && e.line === 1);
  await assert.rejects(
    u.compute('local function f() error({code = 42}) end f()', { chunkName: 'job.lua' }),
    (e) => e instanceof LuaRuntimeError && e.value.code === 42 && e.valueText === '{code = 42}' && /job.lua:1/.test(e.traceback),
  );
  await assert.rejects(u.compute('return function() end'), (e) => e instanceof ConversionError && e.path === '[1]');
  assert.deepEqual(await u.compute('return pcall(error, "x")'), [false, 'x']);
});

test('limits: the deadline and the memory limit, and the unit stays usable', async () => {
  const u = unit({ timeLimit: 200, memoryLimit: 16 * 1024 * 1024 });
  const started = performance.now();
  await assert.rejects(u.compute('while true do end'), (e) => e instanceof LimitError && e.limit === 'time');
  assert.ok(performance.now() - started < 400, 'the deadline held within twice the limit');
  await assert.rejects(u.compute('local t = {} for i = 1, 1e8 do t[i] = i end'), (e) => e instanceof LimitError && e.limit === 'memory');
  await assert.rejects(u.compute('return string.rep("x", 1 << 30)'), LimitError);
  assert.equal(await u.compute('return 1'), 1);
  const stats = u.getMemoryStats();
  assert.equal(stats.limit, 16 * 1024 * 1024);
  assert.ok(stats.used > 0 && stats.free === stats.limit - stats.used);
  assert.ok(u.runGc().used <= stats.used);
});

test('_home from JavaScript: get, set, keys, batch, stats', async () => {
  const u = unit();
  u.homeSet('users.alice', { name: 'Alice', tags: ['a'] });
  await u.compute('function _home.greet(n) return "hi " .. n end');
  assert.deepEqual(u.homeGet('users'), { alice: { name: 'Alice', tags: ['a'] } });
  assert.equal(u.homeGet('_home.users.alice.tags[1]'), 'a');
  assert.equal(u.homeGet(['users', 'alice', 'name']), 'Alice');
  assert.deepEqual(u.homeKeys(), [
    { key: 'greet', kind: 'function' },
    { key: 'users', kind: 'table' },
  ]);
  const results = u.homeBatch([
    { type: 'set', path: 'appUsers.user_1', value: { score: 7 } },
    { type: 'get', path: 'appUsers.user_1.score' },
    { type: 'delete', path: 'users' },
    { type: 'get', path: 'users' },
  ]);
  assert.deepEqual(results, [undefined, 7, undefined, undefined]);
  assert.throws(() => u.homeBatch([{ type: 'set', path: 'x', value: 1 }, { type: 'set', path: 'appUsers.user_1.score.z', value: 1 }]), CuError);
  assert.equal(u.homeGet('x'), undefined, 'a failed batch writes nothing');
  assert.throws(() => u.homeGet('a[x]'), /brackets hold an integer/);
  const info = u.getTableInfo();
  assert.equal(info.functions, 1);
  // `_home` is a table of its own; appUsers and its record are small enough to be embedded in it.
  assert.ok(info.tables >= 1 && info.entries >= 2 && info.bytes > 0, JSON.stringify(info));
});

test('saveState and loadState are named snapshots of _home', async () => {
  const u = unit();
  await u.compute('_home.n = 1');
  assert.equal(await u.saveState('one'), true);
  await u.compute('_home.n = 2');
  assert.equal(await u.loadState('one'), true);
  assert.equal(await u.compute('return _home.n'), 1);
  assert.equal(await u.loadState('missing'), false);
  assert.deepEqual(u.listStates().map((s) => s.name), ['one']);
  assert.ok(u.listStates()[0].savedAt instanceof Date);
  assert.equal(u.deleteState('one'), true);
  assert.equal(u.deleteState('one'), false);
});

test('units sharing a store share _home; a conflict is run again, or with retryConflicts off a StoreError', async () => {
  for (const retryConflicts of [true, false]) {
    const a = unit({ retryConflicts });
    const b = new Cu({ store: a.store, print: () => {} });
    await a.compute('_home.n = 1');
    assert.equal(await b.compute('return _home.n'), 1);
    // b's commit comes from inside a's store: it changes what a read, so a's commit fails. The
    // store counts b's commit too.
    const store = a.store;
    const commit = store.commit.bind(store);
    let commits = 0;
    store.commit = (...args) => {
      if (commits++ === 0) b.computeAll('_home.n = 100');
      return commit(...args);
    };
    const call = a.compute('print("once") _home.n = _home.n + 1 return _home.n');
    if (retryConflicts) {
      assert.equal(await call, 101, 'run again on the new data');
      assert.equal(commits, 3);
      assert.deepEqual(a.printed.join(''), 'once\n', "only the last attempt's output");
    } else {
      await assert.rejects(call, (e) => e instanceof StoreError && e.store === 'conflict');
      assert.equal(commits, 2);
    }
    store.commit = commit;
    assert.equal(await a.compute('return _home.n'), retryConflicts ? 101 : 100);
  }
});

test('a unit cannot be entered from its own store', async () => {
  const u = unit();
  const getMany = u.store.getMany.bind(u.store);
  u.store.getMany = (...args) => {
    u.computeAll('return 1');
    return getMany(...args);
  };
  // The store's error reaches Lua as a failed read of _home.
  await assert.rejects(u.compute('return _home.x'), (e) => e instanceof CuError && /already running a call/.test(e.message));
  u.store.getMany = getMany;
  assert.equal(await u.compute('return 1'), 1);
});

test('an old Node is told which Node cu needs', () => {
  for (const version of ['20.20.2', '22.18.0', '23.11.0', '24.14.0']) {
    assert.throws(() => checkNode(version), new RegExp(`cu needs Node .*this is Node ${version}`));
  }
  for (const version of ['22.19.0', '24.15.0', '25.0.0', '26.1.0']) assert.doesNotThrow(() => checkNode(version));
});

/** The system's Node, when it is one too old for cu (Debian 12 has Node 18 or 20). */
const oldNode = (() => {
  try {
    const version = execFileSync('/usr/bin/node', ['--version'], { encoding: 'utf8' }).trim().slice(1);
    checkNode(version);
    return undefined;
  } catch (error) {
    return error.code === 'ENOENT' ? undefined : '/usr/bin/node';
  }
})();

test('importing cu on an old Node fails with that message', { skip: oldNode === undefined && 'no old Node here' }, () => {
  const entry = new URL('../../src/node/index.js', import.meta.url).href;
  const run = () => execFileSync(oldNode, ['--input-type=module', '-e', `await import(${JSON.stringify(entry)})`], { stdio: 'pipe' });
  assert.throws(run, (error) => /cu needs Node \^22\.19\.0 \|\| >=24\.15\.0/.test(error.stderr));
});

test('compute and computeWithIo run at once: un-awaited, their effect is there on the next line', async () => {
  const unit = new Cu({ store: 'memory', print: () => {} });
  await unit.load();
  const pending = unit.compute('_io.output = { done = true } return 7');
  assert.deepEqual(unit.getOutput(), { done: true }, 'ran before the promise was awaited');
  assert.equal(await pending, 7);
  const io = new IoWrapper(unit);
  const wrapped = io.computeWithIo('_io.output = _io.input * 2', 21);
  assert.equal(unit.getOutput(), 42);
  assert.equal((await wrapped).output, 42);
  // An error rejects the promise rather than throwing, so `.catch` sees it.
  const failing = unit.compute("error('late')");
  assert.ok(failing instanceof Promise);
  await assert.rejects(failing, /late/);
});
