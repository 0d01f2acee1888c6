// A store in a SQLite file, on Node's built-in `node:sqlite`: durable, and shared by every
// process that opens the same file, the Rust host's `cu` included (the same table, the same
// rules: WAL, one IMMEDIATE transaction per commit, expectations checked inside it; the
// statements are src/common/sql-store.js's).

import { StoreFailure } from '../common/kv.js';
import { SCHEMA, STATEMENTS, SqlStore } from '../common/sql-store.js';
import { dirname, mkdirSync } from './builtins.js';

/** How long an operation waits for another connection's write transaction, in milliseconds. */
const BUSY_TIMEOUT = 10_000;

export class SqliteStore extends SqlStore {
  #path;
  #file;

  /** A SQLite database file, created (with its directory) when first used. */
  constructor(path) {
    if (typeof path !== 'string' || path === '') throw new TypeError('a SQLite store needs a file path: "sqlite:PATH"');
    super();
    this.#path = path;
  }

  /** Opens the file (sql-store.js's connection). */
  connect() {
    mkdirSync(dirname(this.#path), { recursive: true });
    // Loaded here rather than imported, so that on a Node without it the package still loads
    // far enough to say which Node it needs.
    const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
    const file = new DatabaseSync(this.#path);
    try {
      file.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT}`);
      // As the Rust host makes its files (docs/HOME.md): before WAL writes a new file's header.
      file.exec('PRAGMA page_size = 16384');
      whenNotBusy(() => file.exec('PRAGMA journal_mode = WAL'));
      // With WAL, NORMAL never corrupts the file; a power cut may drop the last commits.
      file.exec('PRAGMA synchronous = NORMAL');
      file.exec(SCHEMA);
    } catch (error) {
      file.close();
      throw new StoreFailure('unavailable', `SQLite ${this.#path}: ${error.message}`);
    }
    const statements = Object.fromEntries(Object.entries(STATEMENTS).map(([name, sql]) => [name, file.prepare(sql)]));
    this.#file = file;
    return {
      rows: (name, params) => statements[name].all(...params),
      run: (name, params) => statements[name].run(...params),
      // IMMEDIATE takes the write lock at once.
      transaction: (write, body) => transaction(file, write ? 'BEGIN IMMEDIATE' : 'BEGIN', body),
    };
  }

  /** Closes the file; the store opens it again if used. */
  close() {
    this.#file?.close();
    this.#file = undefined;
    this.disconnect();
  }
}

/**
 * Runs `statement` until SQLite stops answering "busy": switching a new file to WAL needs it to
 * itself, and SQLite says so at once rather than waiting.
 */
function whenNotBusy(statement) {
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

/** Runs `body` in a transaction begun by `begin`, rolling back if it throws. */
function transaction(file, begin, body) {
  file.exec(begin);
  try {
    const result = body();
    file.exec('COMMIT');
    return result;
  } catch (error) {
    // The transaction may not have begun (or SQLite ended it already): the first error is the one to report.
    try {
      file.exec('ROLLBACK');
    } catch {}
    throw error;
  }
}
