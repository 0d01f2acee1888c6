// The seeds' storage API's argument shapes (seed 004) as the component's home-store takes them.
// The component does the work — indexes, queries, schemas, the audit log — so this only names
// tables: `'Memory'` (or `'_home'`, or nothing) is `_home` itself, and any other name is a table in
// it (`'users'`, `'org.users'`).

import { CuError } from './errors.js';
import { parsePath } from './path.js';
import { luaPattern } from './pattern.js';

/** The root names of the seeds: `_home` itself. */
const ROOTS = new Set(['Memory', '_home', '']);

/** The segments of a table given as the seeds give it. */
export function tablePath(table) {
  return table === undefined || table === null || ROOTS.has(table) ? [] : parsePath(table);
}

/**
 * The table and field of `createIndex(table, field)`: with `'Memory'` the field path begins with
 * the table (`'appUsers.score'`); otherwise the table is named first (`'appUsers', 'score'`).
 */
export function indexTarget(table, field) {
  if (table !== null && typeof table === 'object' && !Array.isArray(table)) {
    return { table: parsePath(table.table), field: parsePath(table.field ?? ''), type: table.type };
  }
  const root = tablePath(table);
  if (root.length > 0) return { table: root, field: parsePath(field ?? '') };
  const path = parsePath(field ?? '');
  if (path.length < 2) {
    throw new CuError(`createIndex: ${JSON.stringify(field)} names no field: write 'table.field' (e.g. 'appUsers.score')`, 'conversion');
  }
  return { table: path.slice(0, 1), field: path.slice(1) };
}

/** A query with its table filled in from `queryTable(table, query)`. */
export function queryOf(table, query) {
  if (query === null || typeof query !== 'object') {
    throw new CuError('queryTable needs a query object: { table, field, operator, value, limit, sort }', 'conversion');
  }
  if (query.table !== undefined || ROOTS.has(table ?? '')) return query;
  return { ...query, table };
}

/** A schema with its RegExp patterns as Lua patterns. */
export function schemaOf(schema) {
  if (schema === null || schema === undefined) return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([field, rules]) => [
      field,
      rules?.pattern instanceof RegExp ? { ...rules, pattern: luaPattern(rules.pattern) } : rules,
    ]),
  );
}

/**
 * The seeds' batch operations as the component's: `{ type, table, key, value }` (or our `path`
 * in place of table and key) and `{ type: 'query', table, query }`. `toWit` converts a value.
 */
export function operationOf({ type, table, key, path, value, query }, i, toWit) {
  const where = `operations[${i + 1}]`;
  if (type === 'query') return { tag: 'query', val: toWit(queryOf(table, query ?? {}), `${where}.query`) };
  const segments =
    path !== undefined ? parsePath(path) : [...tablePath(table), ...(key === undefined ? [] : parsePath([key]))];
  if (type === 'get') return { tag: 'get', val: segments };
  if (type === 'delete') return { tag: 'delete', val: segments };
  if (type === 'set') return { tag: 'set', val: [segments, toWit(value, `${where}.value`)] };
  throw new CuError(`${where}: unknown type ${JSON.stringify(type)}: use get, set, delete or query`, 'conversion');
}

/** An index as the component describes it: `{ table, field, type }` with dotted paths. */
export function indexInfo({ table, field, kind }) {
  const shown = (segments) =>
    segments.map((s, i) => (s.tag === 'index' ? `[${s.val}]` : i === 0 ? s.val : `.${s.val}`)).join('');
  return { table: shown(table), field: shown(field), type: kind };
}
