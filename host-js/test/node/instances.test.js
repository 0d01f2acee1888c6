// Units and the component instances under them: a closed unit's instance goes to the next unit,
// which must find nothing of the one before; a trap restarts a unit on another instance, and in a
// shared instance leaves the other units running.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { Cu, CuError, MemoryStore, ResetError } from '../../src/node/index.js';

const MiB = 1024 * 1024;

/** A loaded unit on its own memory store, `print` collected in `printed`. */
async function unit(options = {}) {
  const printed = [];
  const made = new Cu({ print: (text) => printed.push(text), store: new MemoryStore(), ...options });
  made.printed = printed;
  await made.load();
  made.init();
  return made;
}

/** Bytes of linear memory under `cu`'s unit. */
const linear = (cu) => cu.getMemoryStats().linear;

/** Makes `cu`'s next `_home` read trap: jco cannot lower the store's answer into the component. */
async function trapIn(cu, code = 'return _home.other') {
  const getMany = cu.store.getMany.bind(cu.store);
  cu.store.getMany = () => [42];
  try {
    await assert.rejects(cu.compute(code), (e) => e instanceof ResetError);
  } finally {
    cu.store.getMany = getMany;
  }
}

test("a closed unit's instance goes to the next unit, which starts with nothing of the last", async () => {
  const first = await unit({ memoryLimit: 0 });
  await first.compute('x = "left behind"; _home.a = 1; local t = {} for i = 1, 2e6 do t[i] = i end');
  const grown = linear(first);
  assert.ok(grown > 16 * MiB, `the first unit grew its memory to ${grown} bytes`);
  first.close();

  const second = await unit();
  assert.equal(linear(second), grown, 'the second unit runs in the first one’s memory');
  assert.deepEqual(await second.compute('return x, _home.a, collectgarbage("count") < 1024'), [undefined, undefined, true]);
  await second.compute('print("from the second"); _home.b = 2');
  assert.deepEqual(second.printed, ['from the second\n']);
  assert.deepEqual(first.printed, []);
  assert.equal(await second.compute('return _home.b'), 2);

  // The first unit's store saw none of the second's writes.
  const again = new Cu({ store: first.store, print: () => {} });
  await again.load();
  assert.deepEqual(await again.compute('return _home.a, _home.b'), [1, undefined]);
  again.close();
  second.close();
});

test('a unit made in the instance of one stopped by its time limit starts and runs', async () => {
  const slow = await unit({ timeLimit: 100 });
  await assert.rejects(slow.compute('while true do end'), /time limit/);
  slow.close();
  const next = await unit({ timeLimit: 1000 });
  assert.equal(await next.compute('local n = 0 for i = 1, 1e5 do n = n + i end return n'), 5000050000);
  next.close();
});

test('an instance whose memory grew past 128 MiB is not kept', async () => {
  const big = await unit({ memoryLimit: 0 });
  await big.compute('local t = {} for i = 1, 9 do t[i] = string.rep("x", 16 * 1024 * 1024) .. i end');
  assert.ok(linear(big) > 128 * MiB);
  big.close();
  const next = await unit();
  assert.ok(linear(next) < 16 * MiB, `the next unit has ${linear(next)} bytes of memory`);
  next.close();
});

test('a unit cannot be closed from inside its own call', async () => {
  const cu = await unit();
  const getMany = cu.store.getMany.bind(cu.store);
  cu.store.getMany = (...args) => {
    cu.close();
    return getMany(...args);
  };
  await assert.rejects(cu.compute('return _home.x'), (e) => e instanceof CuError && /already running a call/.test(e.message));
  cu.store.getMany = getMany;
  assert.equal(await cu.compute('return 1'), 1);
  cu.close();
});

test('a trap restarts the unit, with its globals gone and _home intact', async () => {
  const cu = await unit();
  await cu.compute('kept = true; _home.kept = true');
  await trapIn(cu);
  assert.deepEqual(await cu.compute('return kept, _home.kept'), [undefined, true]);
  cu.close();
});

test("units made with isolation: 'shared' share an instance, each with its own globals, store, printer and limits", async () => {
  const [a, b] = [await unit({ isolation: 'shared', memoryLimit: 0 }), await unit({ isolation: 'shared', timeLimit: 100 })];
  await a.compute('x = "a"; _home.who = "a"; print("from a"); local t = {} for i = 1, 2e6 do t[i] = i end');
  assert.equal(linear(b), linear(a), 'b runs in the memory a grew');
  assert.ok(linear(a) > 16 * MiB);
  await b.compute('x = "b"; print("from b")');
  assert.deepEqual(await a.compute('return x, _home.who'), ['a', 'a']);
  assert.deepEqual(await b.compute('return x, _home.who'), ['b', undefined]);
  assert.deepEqual([a.printed, b.printed], [['from a\n'], ['from b\n']]);
  // b's time limit stops b alone; a's state is untouched by b's error.
  await assert.rejects(b.compute('while true do end'), (e) => e instanceof CuError && e.kind === 'limit');
  assert.deepEqual(await a.compute('return x'), 'a');
  assert.equal(await b.compute('return x'), 'b');
  // A closed unit's state is freed; its sibling goes on.
  b.close();
  assert.equal(await a.compute('return x'), 'a');
  a.close();
});

test('a trap in a shared instance resets only its unit, and the instance takes no more units', async () => {
  // 33 units: 32 fill one instance, the last goes to a second.
  const units = [];
  for (let i = 0; i < 33; i++) {
    const made = await unit({ isolation: 'shared', memoryLimit: 0 });
    await made.compute(`kept = ${i}; _home.kept = ${i}`);
    units.push(made);
  }
  const alone = await unit();
  await alone.compute('kept = "alone"');
  const [first, sibling, other] = [units[0], units[31], units[32]];
  // Grown, so that the instance is told apart from a new one by its memory.
  await sibling.compute('local t = {} for i = 1, 2e6 do t[i] = i end');
  assert.equal(linear(first), linear(sibling));
  assert.ok(linear(sibling) > 16 * MiB);

  await trapIn(first);
  assert.deepEqual(await first.compute('return kept, _home.kept'), [undefined, 0]);
  assert.notEqual(linear(first), linear(sibling), 'the unit that trapped starts on another instance');
  for (const [i, made] of units.entries()) {
    if (i > 0) assert.deepEqual(await made.compute('return kept, _home.kept'), [i, i]);
  }
  assert.equal(await alone.compute('return kept'), 'alone');

  // A place freed in the instance goes to no new unit: it holds the trapped unit's Lua state.
  units[1].close();
  const next = await unit({ isolation: 'shared' });
  assert.notEqual(linear(next), linear(sibling));
  for (const made of [...units, alone, next]) made.close();
});

test("traps give the shadow stack back: an instance's units go on after 31 traps deep in Lua", async () => {
  const units = [];
  for (let i = 0; i < 32; i++) {
    const made = await unit({ isolation: 'shared' });
    await made.compute(`kept = ${i}`);
    units.push(made);
  }
  const last = units[31];
  // Each trap comes 190 protected calls deep, some 37 KiB of the guest's 1 MiB stack: without the
  // stack pointer put back, 31 of them run the stack out and the last unit traps too.
  const deep = 'local function f(n) if n == 0 then return _home.other end return (pcall(f, n - 1)) end return f(190)';
  for (const made of units.slice(0, 31)) {
    await trapIn(made, deep);
    assert.equal(await last.compute('return kept'), 31);
  }
  assert.equal(await last.compute('local t = {} for i = 1, 1e5 do t[i] = tostring(i) end return #t'), 1e5);
  assert.equal(await units[0].compute('return kept'), undefined);
  for (const made of units) made.close();
});

test('a callback cannot call into a unit that shares its instance', async () => {
  const [a, b] = [await unit({ isolation: 'shared' }), await unit({ isolation: 'shared' })];
  const getMany = a.store.getMany.bind(a.store);
  a.store.getMany = (...args) => {
    assert.throws(() => b.computeAll('return 1'), (e) => e instanceof CuError && e.kind === 'busy');
    assert.throws(() => b.close(), (e) => e instanceof CuError && e.kind === 'busy');
    return getMany(...args);
  };
  assert.equal(await a.compute('return _home.x'), undefined);
  a.store.getMany = getMany;
  assert.equal(await b.compute('return 2'), 2);
  // A unit made during another's call gets an instance that is not running.
  const c = new Cu({ store: new MemoryStore(), isolation: 'shared', print() {} });
  await c.load();
  a.store.getMany = (...args) => {
    c.init();
    return getMany(...args);
  };
  assert.equal(await a.compute('return _home.y'), undefined);
  a.store.getMany = getMany;
  assert.equal(await c.compute('return 3'), 3);
  for (const made of [a, b, c]) made.close();
});

test('isolation takes instance or shared', () => {
  assert.throws(() => new Cu({ isolation: 'none' }), /isolation must be 'instance' or 'shared', not "none"/);
});

test('shared units collected without close give their place in the instance back', async () => {
  setFlagsFromString('--expose-gc');
  const collectGarbage = runInNewContext('gc');
  const first = await unit({ isolation: 'shared', memoryLimit: 0 });
  await first.compute('local t = {} for i = 1, 2e6 do t[i] = i end');
  const grown = linear(first);
  // 31 more fill the instance; then they are dropped, never closed.
  let others = [];
  for (let i = 0; i < 31; i++) others.push(await unit({ isolation: 'shared' }));
  assert.equal(linear(others[30]), grown);
  others = undefined;
  for (let i = 0; i < 5; i++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const next = await unit({ isolation: 'shared' });
  assert.equal(linear(next), grown, 'the next shared unit joins the instance the dropped ones left');
  assert.equal(await next.compute('return 1'), 1);
  next.close();
  first.close();
});
