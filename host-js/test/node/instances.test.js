// Units and the component instances under them: a closed unit's instance goes to the next unit,
// which must find nothing of the one before; a trap restarts a unit on another instance.

import assert from 'node:assert/strict';
import { test } from 'node:test';

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
  // A store answer jco cannot lower into the component unwinds through the guest: a trap.
  const getMany = cu.store.getMany.bind(cu.store);
  cu.store.getMany = () => [42];
  await assert.rejects(cu.compute('return _home.other'), (e) => e instanceof ResetError);
  cu.store.getMany = getMany;
  assert.deepEqual(await cu.compute('return kept, _home.kept'), [undefined, true]);
  cu.close();
});
