// Packed values that no host of this package writes, sent to the component as they are: it must
// refuse each one with a conversion error naming the place, leave the unit as it was, and still
// build well-formed values (bigints included, which take the longer of its two ways in).

import assert from 'node:assert/strict';
import { before, test } from 'node:test';

import cu from '../../src/node/index.js';
import { acquireInstance } from '../../src/common/component.js';
import { MemoryStore } from '../../src/common/memory-store.js';
import { fromWit } from '../../src/common/values.js';

/** Little-endian bytes of a u32. */
const u32 = (n) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];
const integer = (n) => [3, n, 0, 0, 0, 0, 0, 0, 0];
const string = (text) => [5, ...u32(text.length), ...new TextEncoder().encode(text)];
const array = (count) => [7, ...u32(count)];
const map = (count) => [8, ...u32(count)];

let exports;
let unit;

before(async () => {
  await cu.load();
  const discard = () => {};
  exports = acquireInstance(new MemoryStore(), { stdout: discard, stderr: discard }).exports;
  unit = new exports.compute.Unit({
    memoryLimit: 0n,
    timeLimitMs: 2000n,
    printMode: 'capture',
    home: 'home',
    retryConflicts: true,
    instructionLimit: 0n,
    allow: { debug: false },
  });
});

/** Sets `_io.input` to the packed `bytes`; the conversion error when the component refuses them. */
function setInput(bytes) {
  try {
    exports.ioTable.setInput(unit, { nodes: Uint8Array.from(bytes) });
    return undefined;
  } catch (error) {
    assert.equal(error.payload?.tag, 'conversion', `not a conversion error: ${error}`);
    return error.payload.val;
  }
}

function compute(code) {
  return unit.compute(new TextEncoder().encode(code), undefined).values.map(fromWit);
}

test('well-formed packed values are built, bigints included', () => {
  assert.equal(setInput([...map(1), ...string('a'), ...array(2), ...integer(7), 6, ...u32(2), 0x31, 0x32]), undefined);
  assert.deepEqual(compute('return _io.input.a[1], tostring(_io.input.a[2]), type(_io.input.a[2])'), [
    7,
    '12',
    'userdata',
  ]);
});

test('malformed packed values are refused, naming the place, and the input stays', () => {
  const deep = [...Array(513)].flatMap(() => array(1));
  const cases = [
    [[], '_io.input', 'is empty: a value needs at least its root node'],
    [[...array(2), ...integer(1)], '_io.input[2]', 'is malformed: its nodes end inside a container'],
    [[...array(1), 3, 1, 2], '_io.input[1]', 'is malformed: its bytes end inside a node'],
    [[...array(1), 9], '_io.input[1]', "is malformed: 9 is not a node's tag"],
    [[...map(1), ...string('a'), 9], '_io.input.a', "is malformed: 9 is not a node's tag"],
    [[...map(1), 0, ...integer(1)], '_io.input', 'has a nil as a key'],
    [[...map(1), ...array(0), ...integer(1)], '_io.input', 'has a table as a key'],
    [[...map(1), 4, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f, ...integer(1)], '_io.input', 'has NaN as a key'],
    [[...map(1), ...string('b'), 6, ...u32(2), 0x31, 0x78], '_io.input.b', 'is a malformed bigint: "1x"'],
    [[0, 0], '_io.input', 'is malformed: 1 bytes follow the end of the root'],
    [[...deep, 0], `_io.input${'[1]'.repeat(512)}`, 'nests containers deeper than 512 levels'],
  ];
  for (const [bytes, path, reason] of cases) {
    assert.deepEqual(setInput(bytes), { path, reason }, `bytes ${bytes.slice(0, 16)}`);
  }
  assert.deepEqual(compute('return _io.input.a[1]'), [7]);
});
