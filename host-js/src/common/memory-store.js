// A store in this JavaScript realm's memory: tests, ephemeral units, and the in-memory side of
// the IndexedDB store. Keys are kept as strings of one char per byte, which JavaScript compares
// code unit by code unit: bytewise.

import { StoreFailure, pageOf, sameBytes } from './kv.js';

const keyString = (bytes) => {
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return text;
};
const keyBytes = (text) => Uint8Array.from(text, (c) => c.charCodeAt(0));

/** The first index of `keys` (sorted) whose key is not less than `key`. */
function lowerBound(keys, key) {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (keys[mid] < key) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** One bucket: its keys in order and their values. */
class Bucket {
  keys = [];
  values = new Map();

  set(key, value) {
    if (!this.values.has(key)) this.keys.splice(lowerBound(this.keys, key), 0, key);
    this.values.set(key, value);
  }

  delete(key) {
    if (this.values.delete(key)) this.keys.splice(lowerBound(this.keys, key), 1);
  }

  /** The entries of `keys` (key strings of this bucket), in their order. */
  entries(keys) {
    return keys.map((key) => ({ key: keyBytes(key), value: this.values.get(key) }));
  }

  /** The indices of `keys` in the range from `start` (a key string) to `end` (or the last key). */
  bounds(start, end) {
    return [lowerBound(this.keys, start), end === undefined ? this.keys.length : lowerBound(this.keys, end)];
  }
}

export class MemoryStore {
  /** @type {Map<string, Bucket>} */
  buckets = new Map();

  bucket(name) {
    let bucket = this.buckets.get(name);
    if (bucket === undefined) {
      bucket = new Bucket();
      this.buckets.set(name, bucket);
    }
    return bucket;
  }

  getMany(name, keys) {
    const bucket = this.bucket(name);
    return keys.map((key) => bucket.values.get(keyString(key)));
  }

  scan(name, range, from, limit) {
    const bucket = this.bucket(name);
    const [first, last] = bucket.bounds(keyString(from), range.end && keyString(range.end));
    return pageOf(bucket.entries(bucket.keys.slice(first, Math.min(last, first + limit + 1))), limit);
  }

  scanReverse(name, range, upper, limit) {
    const bucket = this.bucket(name);
    // The least key after an included bound is the bound followed by a zero byte.
    const end = upper && keyString(upper.key) + (upper.included ? '\0' : '');
    const [first, last] = bucket.bounds(keyString(range.start), end);
    return pageOf(bucket.entries(bucket.keys.slice(Math.max(first, last - limit - 1), last).reverse()), limit);
  }

  commit(name, writes, expected) {
    const bucket = this.bucket(name);
    for (const { key, value } of expected) {
      const current = bucket.values.get(keyString(key));
      if (!sameBytes(current, value)) throw new StoreFailure('conflict');
    }
    for (const write of writes) this.apply(bucket, write);
  }

  /** Applies one write, already checked, to `bucket`; returns the keys it removed or set. */
  apply(bucket, write) {
    if (write.tag === 'set') {
      const key = keyString(write.key);
      // Values are kept, not copied: the guest's lists arrive as fresh copies.
      bucket.set(key, write.value);
      return [key];
    }
    if (write.tag === 'delete') {
      const key = keyString(write.key);
      bucket.delete(key);
      return [key];
    }
    const [first, last] = bucket.bounds(keyString(write.range.start), write.range.end && keyString(write.range.end));
    const removed = bucket.keys.splice(first, Math.max(last - first, 0));
    for (const key of removed) bucket.values.delete(key);
    return removed;
  }
}

export { keyBytes, keyString };
