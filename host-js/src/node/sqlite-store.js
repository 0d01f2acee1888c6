// A store in a SQLite file, on Node's built-in `node:sqlite`: durable, and shared by every
// process that opens the same file, the Rust host's `cu` included (the same table, the same
// rules: WAL, one IMMEDIATE transaction per commit, expectations checked inside it).

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

import { StoreFailure, pageOf, sameBytes } from '../common/kv.js';

/** How long an operation waits for another connection's write transaction, in milliseconds. */
const BUSY_TIMEOUT = 10_000;

const SCHEMA = `CREATE TABLE IF NOT EXISTS kv (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID`;

/** A page from the rows of a scan statement, read one past `limit`. */
function pageOfRows(rows, limit) {
  return pageOf(rows.map(({ key, value }) => ({ key, value })), limit);
}

export class SqliteStore {
  #path;
  #db;
  #statements;

  /** A SQLite database file, created (with its directory) when first used. */
  constructor(path) {
    if (typeof path !== 'string' || path === '') throw new TypeError('a SQLite store needs a file path: "sqlite:PATH"');
    this.#path = path;
  }

  #open() {
    if (this.#db !== undefined) return this.#statements;
    mkdirSync(dirname(this.#path), { recursive: true });
    // Loaded here rather than imported, so that on a Node without it the package still loads
    // far enough to say which Node it needs.
    const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
    const db = new DatabaseSync(this.#path);
    try {
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT}`);
      // As the Rust host makes its files (docs/HOME.md): before WAL writes a new file's header.
      db.exec('PRAGMA page_size = 16384');
      this.#whenNotBusy(() => db.exec('PRAGMA journal_mode = WAL'));
      // With WAL, NORMAL never corrupts the file; a power cut may drop the last commits.
      db.exec('PRAGMA synchronous = NORMAL');
      db.exec(SCHEMA);
    } catch (error) {
      db.close();
      throw new StoreFailure('unavailable', `SQLite ${this.#path}: ${error.message}`);
    }
    const prepare = (sql) => db.prepare(sql);
    this.#statements = {
      get: prepare('SELECT value FROM kv WHERE bucket = ? AND key = ?'),
      scan: prepare('SELECT key, value FROM kv WHERE bucket = ? AND key >= ? ORDER BY key LIMIT ?'),
      scanTo: prepare('SELECT key, value FROM kv WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?'),
      // Descending, from the range's start up to an upper bound that is absent, included or excluded.
      scanDown: prepare('SELECT key, value FROM kv WHERE bucket = ? AND key >= ? ORDER BY key DESC LIMIT ?'),
      scanDownThrough: prepare('SELECT key, value FROM kv WHERE bucket = ? AND key >= ? AND key <= ? ORDER BY key DESC LIMIT ?'),
      scanDownBefore: prepare('SELECT key, value FROM kv WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key DESC LIMIT ?'),
      set: prepare('INSERT OR REPLACE INTO kv (bucket, key, value) VALUES (?, ?, ?)'),
      delete: prepare('DELETE FROM kv WHERE bucket = ? AND key = ?'),
      deleteRange: prepare('DELETE FROM kv WHERE bucket = ? AND key >= ?'),
      deleteRangeTo: prepare('DELETE FROM kv WHERE bucket = ? AND key >= ? AND key < ?'),
    };
    this.#db = db;
    return this.#statements;
  }

  /**
   * Runs `statement` until SQLite stops answering "busy": switching a new file to WAL needs it to
   * itself, and SQLite says so at once rather than waiting.
   */
  #whenNotBusy(statement) {
    const deadline = Date.now() + BUSY_TIMEOUT;
    for (;;) {
      try {
        return statement();
      } catch (error) {
        if (!/database is locked|SQLITE_BUSY/i.test(error.message) || Date.now() > deadline) throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
  }

  /** Runs `body` in a transaction (`BEGIN` or `BEGIN IMMEDIATE`), rolling back if it throws. */
  #transaction(begin, body) {
    const statements = this.#open();
    this.#db.exec(begin);
    try {
      const result = body(statements);
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      // The transaction may not have begun (or SQLite ended it already): the first error is the one to report.
      try {
        this.#db.exec('ROLLBACK');
      } catch {}
      throw error;
    }
  }

  getMany(bucket, keys) {
    // One read transaction, so the values are consistent with each other.
    return this.#transaction('BEGIN', ({ get }) => keys.map((key) => get.get(bucket, key)?.value));
  }

  scan(bucket, range, from, limit) {
    const { scan, scanTo } = this.#open();
    const rows = range.end === undefined ? scan.all(bucket, from, limit + 1) : scanTo.all(bucket, from, range.end, limit + 1);
    return pageOfRows(rows, limit);
  }

  scanReverse(bucket, range, upper, limit) {
    const { scanDown, scanDownThrough, scanDownBefore } = this.#open();
    if (upper === undefined) return pageOfRows(scanDown.all(bucket, range.start, limit + 1), limit);
    const statement = upper.included ? scanDownThrough : scanDownBefore;
    return pageOfRows(statement.all(bucket, range.start, upper.key, limit + 1), limit);
  }

  commit(bucket, writes, expected) {
    // IMMEDIATE takes the write lock first, so no other writer comes between check and writes.
    this.#transaction('BEGIN IMMEDIATE', (s) => {
      for (const { key, value } of expected) {
        const current = s.get.get(bucket, key)?.value;
        if (!sameBytes(current, value)) throw new StoreFailure('conflict');
      }
      for (const write of writes) {
        if (write.tag === 'set') s.set.run(bucket, write.key, write.value);
        else if (write.tag === 'delete') s.delete.run(bucket, write.key);
        else if (write.range.end === undefined) s.deleteRange.run(bucket, write.range.start);
        else s.deleteRangeTo.run(bucket, write.range.start, write.range.end);
      }
    });
  }

  /** Nothing to wait for: every commit is in the file when it returns. */
  async flush() {}

  /** Closes the file; the store opens it again if used. */
  close() {
    this.#db?.close();
    this.#db = undefined;
  }
}
