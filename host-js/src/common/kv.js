// The component's `kv` import (wit/kv.wit) over a JavaScript store. A store implements four
// synchronous operations, like the Rust host's `Backend`:
//
//   getMany(bucket, keys)                -> values (Uint8Array or undefined), in order
//   scan(bucket, range, from, limit)     -> { entries: [{ key, value }], cursor? }, keys of
//                                           `range` ({ start, end? }) from `from` on, limit >= 1
//   scanReverse(bucket, range, upper, limit)
//                                        -> the same, in descending key order: keys of `range`
//                                           up to `upper` ({ key, included }, never past the
//                                           range's end; undefined: no bound), limit >= 1
//   commit(bucket, writes, expected)     -> checks every { key, value? } expectation and applies
//                                           the writes ({ tag: 'set', key, value }, { tag:
//                                           'delete', key }, { tag: 'delete-range', range })
//                                           atomically; throws StoreFailure('conflict') when one
//                                           does not hold
//
// Keys and values are Uint8Arrays, ordered bytewise. This module enforces the limits of
// wit/kv.wit, so stores need not.

/** The longest key a store accepts, in bytes (wit/kv.wit). */
export const MAX_KEY = 4096;
/** The largest value a store accepts, in bytes (wit/kv.wit). */
export const MAX_VALUE = 16 * 1024 * 1024;
/** Entries a scan page holds at most, whatever the limit asked for. */
const MAX_PAGE = 4096;

/** A store operation that failed, as the `kv.error` variant: conflict, too-large or unavailable. */
export class StoreFailure extends Error {
  constructor(kind, message = '') {
    super(message || kind);
    this.name = 'StoreFailure';
    /** jco lowers a thrown object's `payload` as the import's error. */
    this.payload = kind === 'conflict' ? { tag: 'conflict' } : { tag: kind, val: message };
  }
}

/** -1, 0 or 1 as `a` sorts before, with or after `b`, bytewise. */
export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Whether two values (Uint8Array or undefined) are the same bytes. */
export function sameBytes(a, b) {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && compareBytes(a, b) === 0;
}

/** Every key beginning with `prefix`: from the prefix to the least key after all of them. */
export function prefixRange(prefix) {
  let last = prefix.length - 1;
  while (last >= 0 && prefix[last] === 0xff) last--;
  if (last < 0) return { start: prefix, end: undefined };
  const end = prefix.slice(0, last + 1);
  end[last] += 1;
  return { start: prefix, end };
}

function checkSize(what, bytes, limit) {
  if (bytes.length > limit) {
    throw new StoreFailure('too-large', `a ${what} of ${bytes.length} bytes, more than the limit of ${limit}`);
  }
}

/** Runs a store operation, so that whatever it throws reaches the guest as a kv error. */
function guarded(operation) {
  try {
    return operation();
  } catch (error) {
    // A thrown Error without `payload` would unwind through the guest and leave it unusable.
    if (error instanceof StoreFailure) throw error;
    throw new StoreFailure('unavailable', String(error?.message ?? error));
  }
}

/** The entries a page holds: limit 0 is taken as 1, and no page holds more than MAX_PAGE. */
function pageLimit(limit) {
  return Math.min(Math.max(limit, 1), MAX_PAGE);
}

function rangeOf(keys) {
  return keys.tag === 'prefix' ? prefixRange(keys.val) : { start: keys.val.start, end: keys.val.end };
}

function writeOf(write) {
  switch (write.tag) {
    case 'set':
      checkSize('key', write.val.key, MAX_KEY);
      checkSize('value', write.val.value, MAX_VALUE);
      return { tag: 'set', key: write.val.key, value: write.val.value };
    case 'delete':
      return { tag: 'delete', key: write.val };
    default:
      return { tag: 'delete-range', range: rangeOf(write.val) };
  }
}

/**
 * The `bucket` resource class of the kv import: a bucket is over the store `storeOf()` returns
 * when it is opened.
 */
export function bucketClass(storeOf) {
  return class Bucket {
    constructor(name, store) {
      this.name = name;
      this.store = store;
    }

    static open(name) {
      return guarded(() => {
        const store = storeOf();
        store.open?.(name);
        return new Bucket(name, store);
      });
    }

    get(key) {
      return this.getMany([key])[0];
    }

    getMany(keys) {
      return guarded(() => (keys.length === 0 ? [] : this.store.getMany(this.name, keys)));
    }

    exists(key) {
      return this.get(key) !== undefined;
    }

    set(key, value) {
      this.commit([{ tag: 'set', val: { key, value } }], []);
    }

    setMany(entries) {
      this.commit(entries.map((entry) => ({ tag: 'set', val: entry })), []);
    }

    delete(key) {
      this.commit([{ tag: 'delete', val: key }], []);
    }

    scan(keys, cursor, limit) {
      return guarded(() => {
        const range = rangeOf(keys);
        // A cursor before the range (from another range's page) must not widen it.
        const from = cursor !== undefined && compareBytes(cursor, range.start) > 0 ? cursor : range.start;
        if (range.end !== undefined && compareBytes(from, range.end) >= 0) return packed({ entries: [] });
        return packed(this.store.scan(this.name, range, from, pageLimit(limit)));
      });
    }

    scanReverse(keys, cursor, limit) {
      return guarded(() => {
        const range = rangeOf(keys);
        let upper = range.end && { key: range.end, included: false };
        // A cursor past the range (from another range's page) must not widen it.
        if (cursor !== undefined && (upper === undefined || compareBytes(cursor, upper.key) < 0)) {
          upper = { key: cursor, included: true };
        }
        // Empty when the bound is before the range's start, or is the start and excluded.
        const order = upper === undefined ? 1 : compareBytes(upper.key, range.start);
        if (order < 0 || (order === 0 && !upper.included)) return packed({ entries: [] });
        return packed(this.store.scanReverse(this.name, range, upper, pageLimit(limit)));
      });
    }

    commit(writes, expected) {
      guarded(() => {
        const checked = writes.map(writeOf);
        if (checked.length > 0 || expected.length > 0) this.store.commit(this.name, checked, expected);
      });
    }
  };
}

/**
 * A store's page as wit/kv.wit passes it: its entries in one byte array, each key and value after
 * its length (u32, little-endian).
 */
function packed({ entries, cursor }) {
  let size = 0;
  for (const { key, value } of entries) size += 8 + key.length + value.length;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const { key, value } of entries) {
    for (const part of [key, value]) {
      view.setUint32(at, part.length, true);
      bytes.set(part, at + 4);
      at += 4 + part.length;
    }
  }
  return cursor === undefined ? { entries: bytes } : { entries: bytes, cursor };
}

/**
 * A page from up to `limit + 1` entries read from where the page starts, in the scan's order: an
 * entry past the limit is not returned but shows that there is a next page, and where it starts.
 */
export function pageOf(entries, limit) {
  if (entries.length <= limit) return { entries };
  return { entries: entries.slice(0, limit), cursor: entries[limit].key };
}
