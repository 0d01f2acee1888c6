// A store in the browser's IndexedDB. The component's imports are synchronous and IndexedDB is
// not, so a bucket is read into memory when the unit loads, reads are served from memory, and
// each commit is applied in memory at once and written to IndexedDB in the background, in one
// IndexedDB transaction (all of it or none), in commit order. `flush()` resolves when every
// commit so far is durable.
//
// One database (default "cu") with one object store, keyed by [bucket, key bytes]: IndexedDB
// orders binary keys bytewise, as the kv interface does.

import { StoreFailure } from '../common/kv.js';
import { MemoryStore, keyString } from '../common/memory-store.js';

const OBJECT_STORE = 'kv';

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(transaction) {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error ?? new Error('the IndexedDB transaction was aborted'));
  });
}

/** The IndexedDB key range of a bucket's keys from `start` up to `end` (undefined: the last). */
function keyRange(bucket, start, end) {
  // Binary keys sort before arrays, so [bucket, []] is above every key of the bucket.
  return IDBKeyRange.bound([bucket, start], end === undefined ? [bucket, []] : [bucket, end], false, true);
}

export class IndexedDbStore extends MemoryStore {
  #name;
  #db;
  #loaded = new Set();
  /** The background writes not yet durable, in commit order. */
  #pending = new Set();
  #failure;

  /** A store in the IndexedDB database `name` of this origin. */
  constructor(name = 'cu') {
    super();
    this.#name = name;
  }

  async #open() {
    if (this.#db !== undefined) return this.#db;
    const opening = indexedDB.open(this.#name, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(OBJECT_STORE);
    this.#db = await request(opening);
    return this.#db;
  }

  /** Reads bucket `name` into memory; units can use only buckets loaded this way. */
  async load(name) {
    if (this.#loaded.has(name)) return;
    const db = await this.#open();
    const transaction = db.transaction(OBJECT_STORE, 'readonly');
    const store = transaction.objectStore(OBJECT_STORE);
    const range = keyRange(name, new Uint8Array(0), undefined);
    const [keys, values] = await Promise.all([request(store.getAllKeys(range)), request(store.getAll(range))]);
    // IndexedDB returns them in key order, which is the memory store's order.
    const bucket = this.bucket(name);
    bucket.keys = keys.map(([, key]) => keyString(new Uint8Array(key)));
    bucket.values = new Map(bucket.keys.map((key, i) => [key, values[i]]));
    this.#loaded.add(name);
  }

  /** Called as the guest opens a bucket. */
  open(name) {
    if (!this.#loaded.has(name)) {
      throw new StoreFailure('unavailable', `the IndexedDB bucket '${name}' was not loaded: name it as \`home\` before load()`);
    }
    this.#check();
  }

  #check() {
    if (this.#failure !== undefined) {
      throw new StoreFailure('unavailable', `writing to IndexedDB failed earlier: ${this.#failure.message}`);
    }
  }

  commit(name, writes, expected) {
    this.#check();
    super.commit(name, writes, expected);
    const transaction = this.#db.transaction(OBJECT_STORE, 'readwrite', { durability: 'strict' });
    const store = transaction.objectStore(OBJECT_STORE);
    for (const write of writes) {
      if (write.tag === 'set') store.put(write.value, [name, write.key]);
      else if (write.tag === 'delete') store.delete([name, write.key]);
      else store.delete(keyRange(name, write.range.start, write.range.end));
    }
    const written = done(transaction).catch((error) => {
      this.#failure ??= error;
    });
    this.#pending.add(written);
    written.finally(() => this.#pending.delete(written));
  }

  /** Resolves when every commit so far is durable in IndexedDB; rejects if one failed. */
  async flush() {
    await Promise.all(this.#pending);
    this.#check();
  }

  /** Closes the database connection (after the pending writes). */
  async close() {
    await this.flush();
    this.#db?.close();
    this.#db = undefined;
    this.#loaded.clear();
  }
}
