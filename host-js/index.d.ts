// Types of the `cu` package: the same API in browsers and Node (src/browser, src/node).

/**
 * A value between JavaScript and Lua (docs/VALUES.md, "JavaScript"). From Lua: nil is undefined
 * (null inside a table), integers are numbers when safe and bigints otherwise, Lua bigints
 * (`require('bigint')`) are bigints, strings are JS
 * strings when UTF-8 and Uint8Arrays otherwise, arrays are arrays, maps are plain objects when
 * every key is a string and Maps otherwise.
 */
export type LuaValue =
  | undefined
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Float
  | LuaValue[]
  | Map<string | number | bigint | boolean, LuaValue>
  | { [key: string]: LuaValue };

/** A number that goes to Lua as a float even when it is integral. */
export class Float {
  constructor(value: number);
  readonly value: number;
}
/** Marks `value` to cross as a Lua float: `float(1)` is Lua's `1.0`. */
export function float(value: number): Float;

/** A component value (its packed nodes) as the Lua-like text the CLI shows. */
export function luaText(value: { nodes: Uint8Array }): string;

/** The synchronous store interface every `_home` store implements (src/common/kv.js). */
export interface Store {
  getMany(bucket: string, keys: Uint8Array[]): (Uint8Array | undefined)[];
  scan(
    bucket: string,
    range: { start: Uint8Array; end?: Uint8Array },
    from: Uint8Array,
    limit: number,
  ): { entries: { key: Uint8Array; value: Uint8Array }[]; cursor?: Uint8Array };
  /** As `scan`, in descending key order: keys of `range` up to `upper` (never past its end; undefined: no bound). */
  scanReverse(
    bucket: string,
    range: { start: Uint8Array; end?: Uint8Array },
    upper: { key: Uint8Array; included: boolean } | undefined,
    limit: number,
  ): ReturnType<Store['scan']>;
  commit(
    bucket: string,
    writes: (
      | { tag: 'set'; key: Uint8Array; value: Uint8Array }
      | { tag: 'delete'; key: Uint8Array }
      | { tag: 'delete-range'; range: { start: Uint8Array; end?: Uint8Array } }
    )[],
    expected: { key: Uint8Array; value?: Uint8Array }[],
  ): void;
  /** Called by `load()` before a unit uses `bucket`. */
  load?(bucket: string): Promise<void>;
  /** Resolves when every commit so far is durable. */
  flush?(): Promise<void>;
}

/** A store in memory: gone when the page or process ends. */
export class MemoryStore implements Store {
  getMany(bucket: string, keys: Uint8Array[]): (Uint8Array | undefined)[];
  scan(bucket: string, range: { start: Uint8Array; end?: Uint8Array }, from: Uint8Array, limit: number): ReturnType<Store['scan']>;
  scanReverse(bucket: string, range: { start: Uint8Array; end?: Uint8Array }, upper: Parameters<Store['scanReverse']>[2], limit: number): ReturnType<Store['scan']>;
  commit(bucket: string, writes: Parameters<Store['commit']>[1], expected: Parameters<Store['commit']>[2]): void;
}

/** Browsers: a store in IndexedDB (database `name`, default "cu"); reads from memory, writes in the background. */
export class IndexedDbStore extends MemoryStore {
  constructor(name?: string);
  load(bucket: string): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Node: a store in a SQLite file, shared with other processes and with the `cu` CLI. */
export class SqliteStore implements Store {
  constructor(path: string);
  getMany(bucket: string, keys: Uint8Array[]): (Uint8Array | undefined)[];
  scan(bucket: string, range: { start: Uint8Array; end?: Uint8Array }, from: Uint8Array, limit: number): ReturnType<Store['scan']>;
  scanReverse(bucket: string, range: { start: Uint8Array; end?: Uint8Array }, upper: Parameters<Store['scanReverse']>[2], limit: number): ReturnType<Store['scan']>;
  commit(bucket: string, writes: Parameters<Store['commit']>[1], expected: Parameters<Store['commit']>[2]): void;
  flush(): Promise<void>;
  close(): void;
}

/**
 * Cloudflare Workers: a store in a Durable Object's own SQLite database (`ctx.storage`, of a class
 * with SQLite storage), shared by the object's units.
 */
export class DurableObjectStore implements Store {
  constructor(storage: { sql: { exec(query: string, ...bindings: unknown[]): { toArray(): object[] } }; transactionSync<T>(body: () => T): T });
  getMany(bucket: string, keys: Uint8Array[]): (Uint8Array | undefined)[];
  scan(bucket: string, range: { start: Uint8Array; end?: Uint8Array }, from: Uint8Array, limit: number): ReturnType<Store['scan']>;
  scanReverse(bucket: string, range: { start: Uint8Array; end?: Uint8Array }, upper: Parameters<Store['scanReverse']>[2], limit: number): ReturnType<Store['scan']>;
  commit(bucket: string, writes: Parameters<Store['commit']>[1], expected: Parameters<Store['commit']>[2]): void;
  flush(): Promise<void>;
}

export interface CuOptions {
  /** Bytes the Lua heap may hold (default 256 MiB; 0: none). */
  memoryLimit?: number;
  /** Milliseconds each call may run (default 5000; 0: none). */
  timeLimit?: number;
  /** The store's bucket that holds `_home` (default "home"); units sharing one share `_home`. */
  home?: string;
  /**
   * Where `_home` is kept: a Store, or "memory"; in browsers "indexeddb" (the default) or
   * "indexeddb:NAME"; in Node "sqlite:PATH" (the default: "sqlite:.cu/home.sqlite", or what the
   * environment's CU_STORE names).
   */
  store?: string | Store;
  /** Receives each call's `print` output (default: the console, or standard output in Node). */
  print?: (text: string) => void;
  /** The label of this unit's entries in the audit log. */
  auditLabel?: string;
  /**
   * Run a call again when it failed only because another writer changed `_home` data it read,
   * and it changed nothing outside `_home` (default true): up to 16 attempts within `timeLimit`.
   */
  retryConflicts?: boolean;
  /**
   * Instructions each call may run (default: no limit), counted inside the unit (a function call,
   * a loop iteration, a step of a library loop), so that the same code on the same data stops at
   * the same point in every host; past it the call fails with a `LimitError` of kind
   * `'instructions'`.
   */
  instructionLimit?: number;
  /**
   * Node: where `require` finds module files, each a directory (`DIR/NAME.lua`,
   * `DIR/NAME/init.lua`) or a template with `?` (`lib/?.lua`); read when required, never outside
   * the directory. Each directory must exist.
   */
  modulePath?: string | string[];
  /**
   * Run the unit in a Worker (a worker_threads Worker in Node): every method returns a promise
   * (type the unit as `WorkerCu`), and a call that runs past `timeLimit` without the component
   * stopping it (one long C call) is stopped by terminating the Worker: it rejects with a
   * `LimitError` whose `reset` is true, and a fresh Worker takes over with `_home` intact and the
   * globals gone. The store must be given by name.
   */
  worker?: boolean;
  /**
   * Where the component's `.wasm` files are (a directory, such as a CDN's copy of `generated/`);
   * by default next to the package, as bundlers copy them. The first unit that loads in a page or
   * process compiles them for every unit.
   */
  wasmUrl?: string | URL;
  /**
   * The component's core modules already compiled, by file name (`guest.core.wasm`,
   * `guest.core2.wasm`, `guest.core3.wasm`), instead of fetching and compiling them: for runtimes
   * that compile no WebAssembly at run time, such as Cloudflare's workerd, where a worker imports
   * the files as modules.
   */
  wasmModules?: Record<string, WebAssembly.Module>;
  /**
   * Node: where the code V8 compiled for the component's JavaScript glue is kept, for the next
   * process to start sooner (written when a process that compiled it exits); by default
   * `CU_CACHE_DIR`, or the user's cache directory's `cu` (`~/.cache/cu`), as the CLI's. `false`
   * keeps none. The first unit that loads in a process decides. Ignored elsewhere.
   */
  cacheDir?: string | false;
  /**
   * What the sandbox adds for code you trust: `'debug'`, the whole debug library (for test
   * frameworks and profilers). Code can then break its own unit's internals; the limits and the
   * refusal of bytecode still hold.
   */
  allow?: 'debug'[];
  /**
   * `'instance'` (the default): the unit has an instance of the component of its own (about
   * 0.7 MiB), and a trap resets only this unit. `'shared'`: up to 32 such units share an
   * instance, each in a Lua state of its own (about 0.14 MiB a unit); a trap resets only this
   * unit too (a `ResetError`; the others keep their states), and the units share the instance's
   * memory, which grows to the largest need of any of them.
   */
  isolation?: 'instance' | 'shared';
  /**
   * Browsers: the URL `require` fetches modules under (`BASE/NAME.lua`, `BASE/NAME/init.lua`);
   * `compute` fetches those its code names before it runs (see `fetchModules`).
   */
  moduleBaseUrl?: string | URL;
}

/** What a call produced. */
export interface Outcome<V> {
  /** Every value it returned. */
  values: V[];
  /** What it printed. */
  printed: string;
  /** The instructions it ran, as `instructionLimit` counts them. */
  instructions: number;
}

export interface MemoryStats {
  used: number;
  limit: number;
  linear: number;
  total: number;
  free: number;
}

export interface StateInfo {
  name: string;
  keys: number;
  bytes: number;
  savedAt: Date;
}

export type HomePath = string | (string | number | bigint)[];

/** Where a batch operation works: our `path`, or the seeds' `table` and `key`. */
export type OperationTarget = { path: HomePath } | { table: HomePath; key: string | number };

export type HomeOperation =
  | ({ type: 'get' } & OperationTarget)
  | ({ type: 'set'; value: LuaValue } & OperationTarget)
  | ({ type: 'delete' } & OperationTarget)
  | { type: 'query'; table?: HomePath; query: Query };

export type Operator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'between' | 'startsWith' | 'endsWith' | 'contains';

/** One condition of a query. */
export interface Condition {
  field: HomePath;
  operator: Operator;
  /** For `between`, `[low, high]`. */
  value: LuaValue;
}

/** A query in the seeds' form; `where` adds conditions, all of which must hold. */
export interface Query {
  table?: HomePath;
  field?: HomePath;
  operator?: Operator;
  value?: LuaValue;
  where?: Condition[];
  /** Default 100. */
  limit?: number;
  /** By the first condition's field; default 'asc'. */
  sort?: 'asc' | 'desc';
}

export interface IndexInfo {
  table: string;
  field: string;
  type: 'btree' | 'hash';
}

/** The rules of one field of a schema. */
export interface FieldRules {
  type?: 'string' | 'number' | 'integer' | 'boolean' | 'table' | 'function' | 'null';
  required?: boolean;
  /** Bounds of a number, or of a string's length in bytes. */
  min?: number;
  max?: number;
  /** A Lua pattern, or a RegExp that has one (see the README). */
  pattern?: string | RegExp;
}

export interface AuditEntry {
  time: Date;
  operation: string;
  targets: string[];
  more: number;
  label?: string;
}

/** One unit: a Lua state with its limits, `_io` and `_home`, on a component instance of its own. */
export class Cu {
  constructor(options?: CuOptions);
  readonly options: Required<Omit<CuOptions, 'store'>>;
  readonly store: Store;
  /** Compiles the component (once per page or process) and opens the store. */
  load(): Promise<this>;
  /** Seed 001's name for `load`. */
  loadLuaWasm(): Promise<this>;
  /**
   * Changes the options of a unit before it loads (the default unit's, mostly); with
   * `worker: true` it moves into a Worker and its methods all become async (type it as `WorkerCu`).
   */
  configure(options: CuOptions): this;
  /** Starts a fresh Lua state; returns 0. */
  init(): number;
  /** Runs Lua code; resolves to undefined, the one returned value, or an array of several. */
  compute(code: string | Uint8Array, options?: { chunkName?: string }): Promise<LuaValue | LuaValue[]>;
  /**
   * Runs Lua code; every returned value (as Lua-like text with `text: true`, through `__tostring`
   * where a table has it) and the printed output.
   */
  computeAll(code: string | Uint8Array, options?: { chunkName?: string; text?: false }): Outcome<LuaValue>;
  computeAll(code: string | Uint8Array, options: { chunkName?: string; text: true }): Outcome<string>;
  /** Gives `require` the module `name` (before the module path); kept across `reset`. */
  addModule(name: string, source: string | Uint8Array): void;
  /** Browsers: fetches modules (and those they require by name) for `require`; Node: nothing. */
  fetchModules(names: string[]): Promise<void>;
  /** Calls a global Lua function (or `table.function`). */
  call(name: string, ...args: LuaValue[]): Promise<LuaValue | LuaValue[]>;
  callAll(name: string, args?: LuaValue[]): Outcome<LuaValue>;
  setGlobal(name: string, value: LuaValue): void;
  setInput(value: LuaValue): void;
  setInputField(key: string, value: LuaValue): void;
  getInput(): LuaValue;
  getOutput(): LuaValue;
  getOutputField(key: string): LuaValue;
  setMetadata(value: LuaValue): void;
  getMetadata(): LuaValue;
  clearIo(): void;
  homeGet(path: HomePath, options?: { text?: false }): LuaValue;
  homeGet(path: HomePath, options: { text: true }): string;
  homeSet(path: HomePath, value: LuaValue): void;
  homeDelete(path: HomePath): void;
  homeKeys(path?: HomePath): { key: LuaValue; kind: 'boolean' | 'integer' | 'float' | 'string' | 'null' | 'table' | 'function' }[];
  homeBatch(operations: HomeOperation[]): LuaValue[];
  /** Runs Lua code and returns what it returned, at once (seed 004's `eval`). */
  eval(code: string | Uint8Array, options?: { chunkName?: string }): LuaValue | LuaValue[];
  batchTableOperations(operations: HomeOperation[]): Promise<LuaValue[]>;
  /** `createIndex('Memory', 'appUsers.score')`, `createIndex('appUsers', 'score', 'hash')`. */
  createIndex(table: HomePath | { table: HomePath; field: HomePath; type?: 'btree' | 'hash' }, field?: HomePath, type?: 'btree' | 'hash'): Promise<IndexInfo>;
  dropIndex(table: HomePath, field?: HomePath): Promise<boolean>;
  listIndexes(): IndexInfo[];
  checkIndexes(): string[];
  queryTable(table: HomePath, query: Query): Promise<{ key: LuaValue; value: LuaValue }[]>;
  setSchema(table: HomePath, schema: Record<string, FieldRules> | null): Promise<void>;
  getSchema(table: HomePath): Record<string, FieldRules> | undefined;
  validateFunction(code: string): Promise<{ isValid: boolean; error?: string; line?: number }>;
  persistFunction(table: HomePath, name: string, code: string, options?: object): Promise<true>;
  enableAuditLog(operations: string[]): Promise<void>;
  getAuditLog(options?: { since?: Date | number; until?: Date | number; limit?: number }): AuditEntry[];
  setAuditLabel(label: string | undefined): void;
  getTableInfo(): { tables: number; functions: number; entries: number; bytes: number; saved: number };
  /** Saves a named copy of `_home` (default "default"); resolves when durable. */
  saveState(name?: string): Promise<true>;
  /** Restores a named copy; resolves to false when there is none. */
  loadState(name?: string): Promise<boolean>;
  listStates(): StateInfo[];
  deleteState(name: string): boolean;
  flush(): Promise<void>;
  getMemoryStats(): MemoryStats;
  runGc(): MemoryStats;
  reset(): void;
  close(): void;
  [Symbol.dispose](): void;
}

/** The seeds' IoWrapper: `_io` round trips over a Cu. */
export class IoWrapper {
  /** `cu` defaults to the default unit. */
  constructor(cu?: Cu);
  readonly cu: Cu;
  computeWithIo(code: string, input: LuaValue): Promise<Outcome<LuaValue> & { output: LuaValue; meta: LuaValue }>;
  processStream(
    code: string,
    items: LuaValue[],
    options?: { batchSize?: number; onProgress?: (progress: { batches: number; items: number; total: number }) => void },
  ): Promise<LuaValue[]>;
  request(method: string, params: LuaValue): Promise<LuaValue>;
}

/** Every error cu raises; `kind` is syntax, runtime, limit, conversion, store, reset or busy. */
export class CuError extends Error {
  readonly kind: string;
}
export class LuaSyntaxError extends CuError {
  readonly line?: number;
  readonly incomplete: boolean;
}
export class LuaRuntimeError extends CuError {
  readonly traceback: string;
  readonly value?: LuaValue;
  readonly valueText?: string;
}
export class LimitError extends CuError {
  readonly limit: 'time' | 'memory' | 'instructions';
  /** True when the host stopped a Worker unit's Worker: the unit's globals are gone. */
  readonly reset?: boolean;
}
export class ConversionError extends CuError {
  readonly path: string;
  readonly reason: string;
}
export class StoreError extends CuError {
  readonly store: 'conflict' | 'too-large' | 'unavailable';
}
export class SchemaError extends CuError {
  readonly path: string;
  readonly rule: 'type' | 'required' | 'min' | 'max' | 'pattern' | 'record';
}
export class ResetError extends CuError {}
export class BatchError extends CuError {
  readonly batch: number;
  readonly first: number;
  readonly last: number;
  readonly outputs: LuaValue[];
}

/** Seed 004's entry point: a loaded unit whose Lua code may call `_home` `Memory`. */
export const LuaWASM: { init(options?: CuOptions): Promise<Cu> };

/** The default unit, as in the seeds. */
declare const cu: Cu;
export default cu;

/** A unit made with `worker: true`: `Cu`'s methods, each returning a promise. */
export type WorkerCu = {
  [K in keyof Cu]: Cu[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : Cu[K];
};
