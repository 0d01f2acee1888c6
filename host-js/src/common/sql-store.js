// `_home` in a SQLite database, whatever gives access to it: the table, the statements and the
// commit's rule (expectations checked inside the write transaction) shared by Node's node:sqlite
// (src/node/sqlite-store.js, the same table and rules as the Rust host's files) and a Cloudflare
// Durable Object's own `ctx.storage.sql` (src/browser/durable-object-store.js).

import { StoreFailure, pageOf, sameBytes } from './kv.js';

export const SCHEMA = `CREATE TABLE IF NOT EXISTS kv (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID`;

/** Every statement the store runs, by name. */
export const STATEMENTS = {
  get: 'SELECT value FROM kv WHERE bucket = ? AND key = ?',
  scan: 'SELECT key, value FROM kv WHERE bucket = ? AND key >= ? ORDER BY key LIMIT ?',
  scanTo: 'SELECT key, value FROM kv WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?',
  // Descending, from the range's start up to an upper bound that is absent, included or excluded.
  scanDown: 'SELECT key, value FROM kv WHERE bucket = ? AND key >= ? ORDER BY key DESC LIMIT ?',
  scanDownThrough: 'SELECT key, value FROM kv WHERE bucket = ? AND key >= ? AND key <= ? ORDER BY key DESC LIMIT ?',
  scanDownBefore: 'SELECT key, value FROM kv WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key DESC LIMIT ?',
  set: 'INSERT OR REPLACE INTO kv (bucket, key, value) VALUES (?, ?, ?)',
  delete: 'DELETE FROM kv WHERE bucket = ? AND key = ?',
  deleteRange: 'DELETE FROM kv WHERE bucket = ? AND key >= ?',
  deleteRangeTo: 'DELETE FROM kv WHERE bucket = ? AND key >= ? AND key < ?',
};

/**
 * The kv store (src/common/kv.js) over a SQLite connection that `connect()`, a subclass's, makes
 * on first use: `{ rows(name, params), run(name, params), transaction(write, body) }`, where
 * `name` is one of STATEMENTS, `rows` gives `{ key?, value }` rows with Uint8Array blobs, and
 * `transaction` runs `body()` in a transaction (a writing one when `write`), rolled back if it
 * throws.
 */
export class SqlStore {
  #db;

  /** The connection, made when first needed. */
  get connection() {
    this.#db ??= this.connect();
    return this.#db;
  }

  /** Forgets the connection: the next operation makes a new one. */
  disconnect() {
    this.#db = undefined;
  }

  getMany(bucket, keys) {
    // One read transaction, so the values are consistent with each other.
    const db = this.connection;
    return db.transaction(false, () => keys.map((key) => db.rows('get', [bucket, key])[0]?.value));
  }

  scan(bucket, range, from, limit) {
    const rows =
      range.end === undefined
        ? this.connection.rows('scan', [bucket, from, limit + 1])
        : this.connection.rows('scanTo', [bucket, from, range.end, limit + 1]);
    return pageOf(rows, limit);
  }

  scanReverse(bucket, range, upper, limit) {
    if (upper === undefined) return pageOf(this.connection.rows('scanDown', [bucket, range.start, limit + 1]), limit);
    const statement = upper.included ? 'scanDownThrough' : 'scanDownBefore';
    return pageOf(this.connection.rows(statement, [bucket, range.start, upper.key, limit + 1]), limit);
  }

  commit(bucket, writes, expected) {
    const db = this.connection;
    // In a writing transaction, so that no other writer comes between the check and the writes.
    db.transaction(true, () => {
      for (const { key, value } of expected) {
        if (!sameBytes(db.rows('get', [bucket, key])[0]?.value, value)) throw new StoreFailure('conflict');
      }
      for (const write of writes) {
        if (write.tag === 'set') db.run('set', [bucket, write.key, write.value]);
        else if (write.tag === 'delete') db.run('delete', [bucket, write.key]);
        else if (write.range.end === undefined) db.run('deleteRange', [bucket, write.range.start]);
        else db.run('deleteRangeTo', [bucket, write.range.start, write.range.end]);
      }
    });
  }

  /** Nothing to wait for: every commit is in the database when it returns. */
  async flush() {}
}
