// The peer of `cu serve` in host-rust/benches/serve.rs: what a user might build instead, a Node
// `http` server that runs the same Lua app (`handle(request)` returning { status, headers, body })
// in one wasmoon state, with `_home` a table whose reads and writes go to a node:sqlite file
// (values as JSON). It has neither transactions nor limits: a lower bound on what such a server
// costs.
//
//   node bench/serve-wasmoon.js APP.lua PORT [SQLITE_FILE]

import { readFileSync } from 'node:fs';
import http from 'node:http';
import { DatabaseSync } from 'node:sqlite';

import { LuaFactory } from 'wasmoon';

const [app, port, file] = process.argv.slice(2);
const db = new DatabaseSync(file ?? ':memory:');
db.exec('PRAGMA journal_mode = WAL; CREATE TABLE IF NOT EXISTS home (key TEXT PRIMARY KEY, value TEXT)');
const read = db.prepare('SELECT value FROM home WHERE key = ?');
const write = db.prepare('INSERT INTO home VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');

const lua = await new LuaFactory().createEngine();
lua.global.set('home_get', (key) => {
  const row = read.get(key);
  return row === undefined ? undefined : JSON.parse(row.value);
});
lua.global.set('home_set', (key, value) => write.run(key, JSON.stringify(value)));
await lua.doString(`_home = setmetatable({}, {
  __index = function(_, key) return home_get(key) end,
  __newindex = function(_, key, value) home_set(key, value) end,
})`);
await lua.doString(readFileSync(app, 'utf8'));
const handle = lua.global.get('handle');

http
  .createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const [path, query = ''] = request.url.split('?');
      let answer;
      try {
        answer = handle({ method: request.method, path, query, headers: request.headers, body: Buffer.concat(chunks).toString() });
      } catch (error) {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`);
        return;
      }
      const json = typeof answer.body === 'object';
      const headers = { ...(json ? { 'content-type': 'application/json' } : {}), ...(answer.headers ?? {}) };
      response.writeHead(answer.status ?? 200, headers).end(json ? JSON.stringify(answer.body) : String(answer.body ?? ''));
    });
  })
  .listen(Number(port), '127.0.0.1', () => console.error(`serving ${app} on ${port}`));
