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

/** Sorted `a` and sorted `b` as one sorted array. */
function merged(a, b) {
  const out = new Array(a.length + b.length);
  let [i, j, k] = [0, 0, 0];
  while (i < a.length && j < b.length) out[k++] = a[i] < b[j] ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

/**
 * Keys a commit adds or removes beyond which they are merged into the order in one pass rather
 * than placed one at a time: placing each moves the keys after it, which made a commit of 100,000
 * new records (an index built on a large table) take tens of seconds.
 */
const MERGE_AT = 64;

/** One bucket: its keys in order and their values. */
class Bucket {
  keys = [];
  values = new Map();

  /** Applies a commit's writes, already checked, in their order. */
  write(writes) {
    // Keys new to the bucket and keys gone from it, until they are put in order.
    const added = new Set();
    const removed = new Set();
    const settle = () => {
      if (added.size + removed.size <= MERGE_AT) {
        for (const key of removed) this.keys.splice(lowerBound(this.keys, key), 1);
        for (const key of added) this.keys.splice(lowerBound(this.keys, key), 0, key);
      } else {
        const kept = removed.size === 0 ? this.keys : this.keys.filter((key) => !removed.has(key));
        // Sorting compares UTF-16 code units, which here are bytes.
        this.keys = merged(kept, [...added].sort());
      }
      added.clear();
      removed.clear();
    };
    for (const write of writes) {
      if (write.tag === 'set') {
        const key = keyString(write.key);
        if (!this.values.has(key)) {
          if (!removed.delete(key)) added.add(key);
        }
        // Values are kept, not copied: the guest's lists arrive as fresh copies.
        this.values.set(key, write.value);
      } else if (write.tag === 'delete') {
        const key = keyString(write.key);
        if (this.values.delete(key) && !added.delete(key)) removed.add(key);
      } else {
        settle();
        const [first, last] = this.bounds(keyString(write.range.start), write.range.end && keyString(write.range.end));
        for (const key of this.keys.splice(first, Math.max(last - first, 0))) this.values.delete(key);
      }
    }
    settle();
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
    bucket.write(writes);
  }
}

export { keyBytes, keyString };
