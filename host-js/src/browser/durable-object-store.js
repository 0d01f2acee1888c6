// A store in a Cloudflare Durable Object's own SQLite database (`ctx.storage.sql`): `_home` lives
// with the object, durable, and is shared by every unit the object makes. That API is
// synchronous, as the component's kv import is; the object's other storage APIs are not. The
// table and statements are src/common/sql-store.js's, as in Node's SQLite files.

import { SCHEMA, STATEMENTS, SqlStore } from '../common/sql-store.js';

export class DurableObjectStore extends SqlStore {
  #storage;

  /** @param {object} storage the object's `ctx.storage`, of a class with SQLite storage */
  constructor(storage) {
    if (typeof storage?.sql?.exec !== 'function' || typeof storage.transactionSync !== 'function') {
      throw new TypeError(
        "a Durable Object store needs the object's ctx.storage, of a class with SQLite storage " +
          '(new_sqlite_classes in Wrangler, enableSql in workerd)',
      );
    }
    super();
    this.#storage = storage;
  }

  /** The object's database, with the table made (sql-store.js's connection). */
  connect() {
    const { sql } = this.#storage;
    sql.exec(SCHEMA);
    // Blobs go in as ArrayBuffers and come back as ArrayBuffers.
    const exec = (name, params) =>
      sql.exec(STATEMENTS[name], ...params.map((p) => (p instanceof Uint8Array ? p.slice().buffer : p))).toArray();
    return {
      rows: (name, params) =>
        exec(name, params).map(({ key, value }) => ({ key: key && new Uint8Array(key), value: new Uint8Array(value) })),
      run: (name, params) => {
        exec(name, params);
      },
      // The object runs one thing at a time; a transaction makes a commit all or nothing.
      transaction: (_write, body) => this.#storage.transactionSync(body),
    };
  }
}
