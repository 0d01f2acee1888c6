// What every store promises (wit/kv.wit), checked through the kv import's `bucket` class: run in
// Node on the memory and SQLite stores (test/node/stores.test.js) and in Chromium on the
// IndexedDB store (test/browser/browser.test.js). Each check takes a fresh bucket and throws
// when the store breaks a promise.

import { MAX_KEY, MAX_VALUE, bucketClass } from '../src/common/kv.js';

const bytes = (text) => new TextEncoder().encode(text);
const text = (data) => (data === undefined ? undefined : new TextDecoder().decode(data));

function same(actual, expected, what) {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== e) throw new Error(`${what}: got ${a}, expected ${e}`);
}

/** The error a store operation raised, as the guest would receive it. */
function failure(operation) {
  try {
    operation();
  } catch (error) {
    return error.payload?.tag ?? `not a kv error: ${error}`;
  }
  return 'no error';
}

/** A page's entries, unpacked from the bytes the bucket passes them in (wit/kv.wit). */
function entriesOf(page) {
  const { entries: bytes } = page;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries = [];
  let at = 0;
  const part = () => {
    const length = view.getUint32(at, true);
    at += 4 + length;
    return bytes.subarray(at - length, at);
  };
  while (at < bytes.length) entries.push({ key: part(), value: part() });
  return entries;
}
const keysOf = (page) => entriesOf(page).map((entry) => text(entry.key));

/** Keys `{prefix}00`, `{prefix}01`, ... with the key as value. */
function numbered(b, prefix, count) {
  const keys = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(2, '0')}`);
  b.setMany(keys.map((key) => ({ key: bytes(key), value: bytes(key) })));
  return keys;
}

/** The keys of every page of a reverse scan of `keys`, `limit` at a time, following each page's cursor. */
function pagesDown(b, keys, limit) {
  const pages = [];
  let cursor;
  do {
    const page = b.scanReverse(keys, cursor, limit);
    if (entriesOf(page).length > Math.max(limit, 1)) throw new Error(`a page of ${entriesOf(page).length} entries for a limit of ${limit}`);
    if (pages.length > 100) throw new Error('more than 100 pages');
    pages.push(keysOf(page));
    cursor = page.cursor;
  } while (cursor !== undefined);
  return pages;
}

export const checks = {
  'set, get, get-many, exists and delete': (b) => {
    b.set(bytes('a'), bytes('1'));
    b.setMany([
      { key: bytes('b'), value: bytes('2') },
      { key: bytes('c'), value: new Uint8Array(0) },
    ]);
    same(text(b.get(bytes('a'))), '1', 'get');
    same(b.getMany([bytes('c'), bytes('x'), bytes('b')]).map(text), ['', undefined, '2'], 'get-many');
    same([b.exists(bytes('c')), b.exists(bytes('x'))], [true, false], 'exists');
    b.delete(bytes('a'));
    b.delete(bytes('never'));
    same(b.get(bytes('a')), undefined, 'deleted');
  },

  'keys are ordered bytewise, a prefix before its extensions': (b) => {
    const keys = [[0xff], [0x00], [0x61, 0x00], [0x61], [0x80, 0x01], [0x7f]];
    for (const key of keys) b.set(new Uint8Array(key), bytes('v'));
    const page = b.scan({ tag: 'prefix', val: new Uint8Array(0) }, undefined, 100);
    same(entriesOf(page).map((e) => [...e.key]), [[0x00], [0x61], [0x61, 0x00], [0x7f], [0x80, 0x01], [0xff]], 'order');
    same(page.cursor, undefined, 'one page');
  },

  'scans page through a prefix or a range with a cursor': (b) => {
    for (const key of ['p/1', 'p/2', 'p/3', 'p/4', 'p/5', 'q/1', 'o/9']) b.set(bytes(key), bytes(key));
    const prefix = { tag: 'prefix', val: bytes('p/') };
    const first = b.scan(prefix, undefined, 2);
    same(keysOf(first), ['p/1', 'p/2'], 'first page');
    const second = b.scan(prefix, first.cursor, 2);
    same(keysOf(second), ['p/3', 'p/4'], 'second page');
    const third = b.scan(prefix, second.cursor, 2);
    same([keysOf(third), third.cursor], [['p/5'], undefined], 'last page');
    const range = { tag: 'range', val: { start: bytes('p/2'), end: bytes('p/4') } };
    same(keysOf(b.scan(range, undefined, 10)), ['p/2', 'p/3'], 'range');
    same(keysOf(b.scan(range, bytes('a'), 10)), ['p/2', 'p/3'], 'a cursor before the range does not widen it');
    same(keysOf(b.scan(prefix, undefined, 0)).length, 1, 'a limit of 0 is taken as 1');
  },

  'reverse scans page down through a prefix or a range with a cursor': (b) => {
    const k = numbered(b, 'k', 25);
    numbered(b, 'j', 3);
    numbered(b, 'l', 3);
    const prefix = { tag: 'prefix', val: bytes('k') };
    const range = (start, end) => ({ tag: 'range', val: { start: bytes(start), end: end && bytes(end) } });
    const lengths = (pages) => pages.map((page) => page.length);
    const byPrefix = pagesDown(b, prefix, 10);
    same([lengths(byPrefix), byPrefix.flat()], [[10, 10, 5], k.slice().reverse()], 'by prefix, last key first');
    const byRange = pagesDown(b, range('k05', 'k15'), 4);
    same([lengths(byRange), byRange.flat()], [[4, 4, 2], k.slice(5, 15).reverse()], "the range's end excluded, its start included");
    same(lengths(pagesDown(b, range('k10', 'k18'), 4)), [4, 4], 'no empty page after a full last one');
    same(pagesDown(b, range('k20'), 100).flat(), ['l02', 'l01', 'l00', 'k24', 'k23', 'k22', 'k21', 'k20'], 'a range without an end');
    same(pagesDown(b, prefix, 0).length, 25, 'a limit of 0 is taken as 1');
    const past = b.scanReverse(prefix, bytes('z'), 3);
    same([keysOf(past), text(past.cursor)], [['k24', 'k23', 'k22'], 'k21'], 'a cursor past the range does not widen it');
    same(text(entriesOf(past)[1].value), 'k23', 'entries carry their values');
    same(keysOf(b.scanReverse(range('k05', 'k10'), bytes('k10'), 2)), ['k09', 'k08'], "a cursor at the range's end");
    same(keysOf(b.scanReverse(prefix, bytes('k10'), 2)), ['k10', 'k09'], 'a cursor is included');
    same(entriesOf(b.scanReverse(range('k05', 'k10'), bytes('k01'), 3)), [], "a cursor before the range's start");
    same(entriesOf(b.scanReverse(range('k05', 'k10'), bytes('k05'), 3)).length, 1, "a cursor at the range's start");
    same(entriesOf(b.scanReverse(range('k09', 'k01'), undefined, 3)), [], 'a range that ends before it starts');
  },

  'a commit applies all of its writes or, on a conflict, none': (b) => {
    b.set(bytes('n'), bytes('1'));
    for (const key of ['r/a', 'r/b', 'r/c', 's']) b.set(bytes(key), bytes('x'));
    b.commit(
      [
        { tag: 'set', val: { key: bytes('n'), value: bytes('2') } },
        { tag: 'delete-keys', val: { tag: 'prefix', val: bytes('r/') } },
        { tag: 'set', val: { key: bytes('r/new'), value: bytes('y') } },
      ],
      [{ key: bytes('n'), value: bytes('1') }, { key: bytes('absent') }],
    );
    same(text(b.get(bytes('n'))), '2', 'applied');
    same(keysOf(b.scan({ tag: 'prefix', val: new Uint8Array(0) }, undefined, 10)), ['n', 'r/new', 's'], 'range deleted, then set');
    const conflict = failure(() =>
      b.commit([{ tag: 'set', val: { key: bytes('s'), value: bytes('changed') } }], [{ key: bytes('n'), value: bytes('1') }]),
    );
    same(conflict, 'conflict', 'a stale expectation');
    same(text(b.get(bytes('s'))), 'x', 'nothing of a conflicting commit is written');
  },

  'a large commit keeps every key in order, whatever it sets, deletes and sets again': (b) => {
    const old = numbered(b, 'k', 100);
    b.set(bytes('z/gone'), bytes('x'));
    const expected = new Map(old.map((key) => [key, key]));
    const writes = [];
    const set = (key, value = key) => {
      writes.push({ tag: 'set', val: { key: bytes(key), value: bytes(value) } });
      expected.set(key, value);
    };
    const remove = (key) => {
      writes.push({ tag: 'delete', val: bytes(key) });
      expected.delete(key);
    };
    for (let i = 149; i >= 0; i--) set(`n${String(i).padStart(3, '0')}`);
    for (const key of old.slice(0, 50)) remove(key);
    set('k10', 'again');
    remove('n010');
    set('n010', 'back');
    writes.push({ tag: 'delete-keys', val: { tag: 'prefix', val: bytes('z/') } });
    expected.delete('z/gone');
    set('z/after');
    set('a');
    remove('k99');
    b.commit(writes, []);
    const seen = [];
    let cursor;
    do {
      const page = b.scan({ tag: 'prefix', val: new Uint8Array(0) }, cursor, 64);
      seen.push(...entriesOf(page).map((entry) => [text(entry.key), text(entry.value)]));
      cursor = page.cursor;
    } while (cursor !== undefined);
    same(seen, [...expected].sort(([a], [b]) => (a < b ? -1 : 1)), 'every entry, in order');
  },

  'keys and values over the limits are refused and nothing is written': (b) => {
    const tooLong = failure(() =>
      b.commit(
        [
          { tag: 'set', val: { key: bytes('ok'), value: bytes('1') } },
          { tag: 'set', val: { key: new Uint8Array(MAX_KEY + 1), value: bytes('1') } },
        ],
        [],
      ),
    );
    same(tooLong, 'too-large', 'a key of MAX_KEY + 1 bytes');
    same(failure(() => b.set(bytes('big'), new Uint8Array(MAX_VALUE + 1))), 'too-large', 'a value of MAX_VALUE + 1 bytes');
    same([b.get(bytes('ok')), b.get(bytes('big'))], [undefined, undefined], 'nothing written');
    b.set(new Uint8Array(MAX_KEY).fill(7), bytes('at the limit'));
    same(text(b.get(new Uint8Array(MAX_KEY).fill(7))), 'at the limit', 'a key of exactly MAX_KEY bytes');
  },

  'buckets are separate key spaces': (b, Bucket) => {
    const other = Bucket.open(`${b.name}-other`);
    b.set(bytes('k'), bytes('mine'));
    same(other.get(bytes('k')), undefined, 'another bucket');
  },
};

/** Runs every check on a fresh bucket of `store`; resolves to the failures as text. */
export async function runChecks(store, prefix) {
  const Bucket = bucketClass(() => store);
  const failures = [];
  for (const [name, check] of Object.entries(checks)) {
    const bucket = `${prefix}-${name}`;
    // A store that serves buckets from memory (IndexedDB) must read them first.
    await store.load?.(bucket);
    await store.load?.(`${bucket}-other`);
    try {
      check(Bucket.open(bucket), Bucket);
    } catch (error) {
      failures.push(`${name}: ${error.message}`);
    }
  }
  return failures;
}
