// The seeds' API over the component's exports: one `Cu` is one unit, on an instance of its own.
// Browser and Node entry points (src/browser, src/node) give it their store and printer.

import { acquireInstance, loadComponent, releaseInstance } from './component.js';
import { BatchError, CuError, ResetError, StoreError, fromWitError } from './errors.js';
import { requiredNames, sourceBytes } from './modules.js';
import { WorkerUnit } from './worker-unit.js';
import { parsePath } from './path.js';
import { indexInfo, indexTarget, operationOf, queryOf, schemaOf, tablePath } from './storage.js';
import { fromWit, luaText, toWit } from './values.js';

const textDecoder = new TextDecoder();

/** Code strings up to this length are kept encoded, the last few run. */
const KEPT_CODE_LENGTH = 16 * 1024;
/** How many code strings are kept encoded. */
const KEPT_CODES = 8;
/** The bytes of code strings run lately, so that code run again (a request handler) is encoded once. */
const encodedCode = new Map();

/** `code` (a string or Uint8Array) as bytes. */
function codeBytes(code) {
  if (typeof code !== 'string' || code.length > KEPT_CODE_LENGTH) return sourceBytes(code, 'code');
  let bytes = encodedCode.get(code);
  if (bytes === undefined) {
    bytes = sourceBytes(code, 'code');
    if (encodedCode.size >= KEPT_CODES) encodedCode.delete(encodedCode.keys().next().value);
    encodedCode.set(code, bytes);
  }
  return bytes;
}

/** What `compute` resolves to: nothing, the one value, or an array of several. */
function collapse(values) {
  return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
}

/**
 * The store `spec` names: a store object as it is, or `"KIND"` / `"KIND:ARGUMENT"` made by
 * `kinds[KIND](ARGUMENT)`; undefined is `kinds.default`.
 */
function openStore(spec, kinds) {
  spec ??= kinds.default;
  if (typeof spec !== 'string') return spec;
  const colon = spec.indexOf(':');
  const [kind, argument] = colon < 0 ? [spec, undefined] : [spec.slice(0, colon), spec.slice(colon + 1)];
  const make = kinds[kind];
  if (kind === 'default' || make === undefined || argument === '') {
    const known = Object.keys(kinds).filter((k) => k !== 'default');
    throw new TypeError(`unknown store ${JSON.stringify(spec)}: use ${known.join(', ')} (KIND or KIND:ARGUMENT) or a store object`);
  }
  return make(argument);
}

/** What the sandbox can add for trusted code, by the names `allow` takes. */
const ALLOWANCES = ['debug'];

const ISOLATIONS = ['instance', 'shared'];

/** Checks `isolation`, which says what a trap resets: the unit's own instance, or a shared one. */
function isolation(value) {
  if (ISOLATIONS.includes(value)) return value;
  throw new TypeError(`isolation must be ${ISOLATIONS.map((name) => `'${name}'`).join(' or ')}, not ${JSON.stringify(value)}`);
}

/** `cacheDir` as given: a directory's path, `false`, or undefined for the platform's default. */
function cacheDir(value) {
  if (value === undefined || value === false || (typeof value === 'string' && value !== '')) return value;
  throw new TypeError(`cacheDir must be a directory's path or false, not ${JSON.stringify(value)}`);
}

/** `allow: ['debug']` as the component's flags; throws on a name it does not know. */
function allowances(names) {
  if (!Array.isArray(names)) throw new TypeError(`allow must be an array of names (${ALLOWANCES.join(', ')})`);
  for (const name of names) {
    if (!ALLOWANCES.includes(name)) {
      throw new TypeError(`allow: unknown ${JSON.stringify(name)}; the sandbox can add ${ALLOWANCES.join(', ')}`);
    }
  }
  return Object.fromEntries(ALLOWANCES.map((name) => [name, names.includes(name)]));
}

/** The method of `Cu` that runs work once the modules a chunk names are fetched (IoWrapper's too). */
const whenFetched = Symbol('whenFetched');

function numbers(record) {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, Number(value)]));
}

export class Cu {
  #platform;
  #instance;
  #unit;
  #stderr = [];
  #sinks = {
    stdout: (bytes) => this.options.print(textDecoder.decode(bytes)),
    stderr: (bytes) => this.#stderr.push(textDecoder.decode(bytes)),
  };
  #modules;

  /**
   * @param {object} [options]
   * @param {number} [options.memoryLimit] bytes the Lua heap may hold (default 256 MiB; 0: none)
   * @param {number} [options.timeLimit] milliseconds each call may run (default 5000; 0: none)
   * @param {string} [options.home] the store's bucket that holds `_home` (default `"home"`)
   * @param {string | object} [options.store] where `_home` is kept: a store object, or a spec
   *   (`"memory"`, and per platform `"sqlite:PATH"`, `"indexeddb"`, `"indexeddb:NAME"`)
   * @param {(text: string) => void} [options.print] receives each call's `print` output
   * @param {string} [options.auditLabel] the label of this unit's entries in the audit log
   * @param {number} [options.instructionLimit] instructions each call may run (default: no limit),
   *   counted inside the unit: the same code on the same data stops at the same point everywhere
   * @param {boolean} [options.retryConflicts] run a call again when it failed only because another
   *   writer changed `_home` data it read, and it changed nothing outside `_home` (default true)
   * @param {string | URL} [options.wasmUrl] where the component's `.wasm` files are (a directory,
   *   such as a CDN's copy of generated/); by default, next to the package. The first unit to
   *   `load` in a page or process compiles them for all.
   * @param {Object<string, WebAssembly.Module>} [options.wasmModules] the component's core
   *   modules already compiled, by file name (`guest.core.wasm`, `guest.core2.wasm`,
   *   `guest.core3.wasm`): for runtimes that compile no WebAssembly at run time, such as
   *   Cloudflare's workerd, where a worker imports them as modules
   * @param {string | false} [options.cacheDir] Node: where the code V8 compiled for jco's glue
   *   is kept, for the next process to start sooner (default `CU_CACHE_DIR`, or `~/.cache/cu`, as
   *   the CLI's); `false` for none. The first unit to `load` in a process decides.
   * @param {boolean} [options.worker] run the unit in a Worker (a worker_threads Worker in Node):
   *   every method is async, and a call that runs past its time limit without the component
   *   stopping it (one long C call) is stopped by terminating the Worker (worker-unit.js)
   * @param {string[]} [options.allow] what the sandbox adds for trusted code: `['debug']`, the
   *   whole debug library (docs/MODULES.md, "The debug library")
   * @param {'instance' | 'shared'} [options.isolation] `'instance'` (the default): the unit has an
   *   instance of the component of its own, and a trap resets only this unit; `'shared'`: up to 32
   *   such units share an instance, each in a Lua state of its own, for a fraction of the memory;
   *   a trap resets only this unit too, but a memory the unit grew stays its siblings' (README,
   *   "Many units")
   * @param {string | string[]} [options.modulePath] Node: where `require` finds module files, each
   *   a directory (`DIR/NAME.lua`, `DIR/NAME/init.lua`) or a template with `?` (`lib/?.lua`)
   * @param {string} [options.moduleBaseUrl] browsers: the URL `require` fetches modules under
   *   (`BASE/NAME.lua`, `BASE/NAME/init.lua`), before each `compute`
   * @param {object} platform the entry point's `{ fetchBytes, defaultPrint, stores, modules,
   *   prefetch?, importGlue? }`: `stores` maps store kinds to makers, and `stores.default` is the
   *   spec of the default store; `modules(options, limit)` makes the unit's modules (modules.js), and
   *   `prefetch(modules, names)` fetches what `require` will read; `importGlue(options)` gives
   *   jco's glue's exports (by default, the glue is imported)
   */
  constructor(options = {}, platform) {
    // A unit in a Worker has the same methods, all async (worker-unit.js).
    if (options.worker) return new WorkerUnit(options, platform);
    this.#platform = platform;
    this.#setUp(options);
  }

  /** The options given, kept for `configure`. */
  #given;

  #setUp(options) {
    this.#given = options;
    this.options = {
      memoryLimit: options.memoryLimit ?? 256 * 1024 * 1024,
      timeLimit: options.timeLimit ?? 5000,
      home: options.home ?? 'home',
      print: options.print ?? this.#platform.defaultPrint,
      auditLabel: options.auditLabel,
      retryConflicts: options.retryConflicts ?? true,
      instructionLimit: options.instructionLimit ?? 0,
      allow: allowances(options.allow ?? []),
      wasmUrl: options.wasmUrl,
      wasmModules: options.wasmModules,
      cacheDir: cacheDir(options.cacheDir),
      isolation: isolation(options.isolation ?? 'instance'),
    };
    /** The store that holds `_home`. */
    this.store = openStore(options.store, this.#platform.stores);
    this.#modules = this.#platform.modules(options, this.options.memoryLimit);
  }

  /**
   * Changes the options of a unit that has not started (the default unit's, mostly:
   * `cu.configure({ worker: true, timeLimit: 1000 })`) before `load`. With `worker: true` the
   * unit moves into a Worker, and its methods all become async. Returns the unit.
   */
  configure(options) {
    if (this.#instance !== undefined || this.#loaded) {
      throw new CuError('configure a unit before it loads: this one has loaded already', 'conversion');
    }
    const next = { ...this.#given, ...options };
    if (!next.worker) {
      this.#setUp(next);
      return this;
    }
    const worker = new WorkerUnit(next, this.#platform);
    for (const name of [...Object.getOwnPropertyNames(WorkerUnit.prototype), 'close']) {
      if (name !== 'constructor') this[name] = (...args) => worker[name](...args);
    }
    this.options = worker.options;
    this.store = undefined;
    return this;
  }

  /** Compiles the component (once per page or process) and opens the store. Resolves to this. */
  async load() {
    this.#loaded = true;
    const { wasmModules, wasmUrl } = this.options;
    await loadComponent((name) => {
      if (wasmModules === undefined) return this.#platform.fetchBytes(name, wasmUrl);
      if (wasmModules[name] instanceof WebAssembly.Module) return wasmModules[name];
      throw new TypeError(`wasmModules has no compiled module ${name}: give every file of the package's generated/`);
    }, this.#platform.importGlue && (() => this.#platform.importGlue(this.options)));
    await this.store.load?.(this.options.home);
    return this;
  }

  /** Whether `load` was called (a unit cannot be configured afterwards). */
  #loaded = false;

  /** Seed 001's name for `load`. */
  loadLuaWasm() {
    return this.load();
  }

  /** Starts the unit: a fresh Lua state. Returns 0, as the seeds' `init` does. */
  init() {
    this.close();
    this.#start();
    return 0;
  }

  /** A fresh Lua state on an instance taken for it; the unit holds neither before. */
  #start() {
    this.#instance = acquireInstance(this, this.options.isolation === 'shared');
    this.#instance.use(this.store, this.#sinks, this.#modules);
    const { memoryLimit, timeLimit, home, retryConflicts, instructionLimit, allow } = this.options;
    this.#unit = new this.#instance.exports.compute.Unit({
      memoryLimit: BigInt(memoryLimit),
      timeLimitMs: BigInt(timeLimit),
      printMode: 'capture',
      home,
      retryConflicts,
      instructionLimit: BigInt(instructionLimit),
      allow,
    });
    if (this.options.auditLabel !== undefined) {
      this.#instance.exports.homeStore.setAuditLabel(this.#unit, this.options.auditLabel);
    }
  }

  /**
   * Runs `operation(exports, unit)`: one call into the component at a time, errors as CuErrors,
   * and a trap restarts the unit (alone: see Instance#trap).
   */
  #call(operation) {
    this.#refuseWhileBusy();
    if (this.#unit === undefined) this.init();
    const instance = this.#instance;
    instance.use(this.store, this.#sinks, this.#modules);
    instance.busy = true;
    try {
      return operation(instance.exports, this.#unit);
    } catch (error) {
      if (error?.payload?.tag !== undefined) throw fromWitError(error.payload, fromWit, luaText);
      if (error instanceof CuError) throw error;
      // A trap: the unit starts afresh, on another instance.
      const stderr = this.#stderr.splice(0).join('').trim();
      instance.trap(error, this.options.isolation === 'shared');
      this.#leave();
      this.#start();
      throw new ResetError(stderr ? `${error?.message ?? error}; ${stderr}` : error);
    } finally {
      instance.busy = false;
    }
  }

  #refuseWhileBusy() {
    if (this.#instance?.busy) {
      throw new CuError(
        'cu is already running a call: a store or print callback cannot call into its unit, nor into a unit that shares its instance',
        'busy',
      );
    }
  }

  /**
   * Lets go of the unit's Lua state and instance; an instance of its own that trapped is not
   * entered to free it.
   */
  #leave() {
    const [instance, unit] = [this.#instance, this.#unit];
    this.#instance = undefined;
    this.#unit = undefined;
    if (unit === undefined) return;
    if (instance.trapped === undefined) unit[Symbol.dispose]();
    releaseInstance(instance, this);
  }

  /** A call's outcome as JavaScript (or Lua text), its printed text handed to the printer. */
  #outcome({ values, printed, instructions, shown }, asText) {
    const text = printed.length === 0 ? '' : textDecoder.decode(printed);
    if (text !== '') this.options.print(text);
    const converted = asText ? values.map((value, i) => shown[i] ?? luaText(value)) : values.map(fromWit);
    return { values: converted, printed: text, instructions: Number(instructions) };
  }

  /**
   * Runs `code` and returns `{ values, printed, instructions }`: every value it returned, what it
   * printed and the instructions it ran (as `instructionLimit` counts them).
   * With `text: true` the values are their Lua-like text (`1.0`, `"s"`, `{a = 1}`, or what
   * `__tostring` makes of a table that has it), as the CLI shows them.
   */
  computeAll(code, { chunkName, text = false } = {}) {
    const bytes = codeBytes(code);
    return this.#outcome(
      this.#call((_, unit) => unit.compute(bytes, chunkName)),
      text,
    );
  }

  /**
   * Runs `code` (a string, or a Uint8Array of Lua source in any encoding); resolves to what it
   * returned: undefined, the one value, or an array of several. It runs at once, so that what it
   * did is there on the next line even when it is not awaited (`cu.compute(code); cu.getOutput()`),
   * unless, in browsers, `code` requires modules by name that are not fetched yet: then it runs
   * once they are (see `fetchModules`).
   */
  compute(code, options) {
    return this[whenFetched](code, () => collapse(this.computeAll(code, options).values));
  }

  /**
   * Makes the module `name` available to `require`, before the module path, for as long as the
   * unit lives (`reset` keeps it). `source` is Lua source: a string or a Uint8Array.
   */
  addModule(name, source) {
    this.#modules.add(name, source);
  }

  /**
   * Browsers: fetches the modules `names` from `moduleBaseUrl`, and those they require by name, so
   * that `require` finds them synchronously; needed only for names that code builds at run time,
   * since `compute` fetches those it names. Node reads module files when required, so this does
   * nothing there.
   */
  async fetchModules(names) {
    await this.#platform.prefetch?.(this.#modules, names);
  }

  /**
   * A promise of `work()`: run at once when the modules `code` names need no fetching, else once
   * they are fetched. An error `work` throws rejects the promise.
   */
  [whenFetched](code, work) {
    const names = this.#platform.prefetch && this.#modules.path.length > 0 ? requiredNames(sourceBytes(code, 'code')) : [];
    const fetching = names.length > 0 ? this.#platform.prefetch(this.#modules, names) : null;
    if (fetching === null) {
      try {
        return Promise.resolve(work());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return fetching.then(work);
  }

  /** Runs `code` and returns what it returned, at once (seed 004's `eval`). */
  eval(code, options) {
    return collapse(this.computeAll(code, options).values);
  }

  /** Calls the global function `name` (or `table.function`) with `args`: `{ values, printed, instructions }`. */
  callAll(name, args = []) {
    const wit = args.map((arg, i) => toWit(arg, `args[${i + 1}]`));
    return this.#outcome(
      this.#call((_, unit) => unit.call(name, wit)),
      false,
    );
  }

  /** Calls the global function `name` with `args`; resolves like `compute`. */
  async call(name, ...args) {
    return collapse(this.callAll(name, args).values);
  }

  /** Sets the global `name` to `value`. */
  setGlobal(name, value) {
    const wit = toWit(value, name);
    this.#call((_, unit) => unit.setGlobal(name, wit));
  }

  /** Replaces `_io.input`. */
  setInput(value) {
    const wit = toWit(value, 'input');
    this.#call(({ ioTable }, unit) => ioTable.setInput(unit, wit));
  }

  /** Sets one field of `_io.input`, making it a table if need be. */
  setInputField(key, value) {
    const wit = toWit(value, `input.${key}`);
    this.#call(({ ioTable }, unit) => ioTable.setInputField(unit, key, wit));
  }

  /** `_io.input`, as the last call left it. */
  getInput() {
    return fromWit(this.#call(({ ioTable }, unit) => ioTable.getInput(unit)));
  }

  /** `_io.output` of the last call. */
  getOutput() {
    return fromWit(this.#call(({ ioTable }, unit) => ioTable.getOutput(unit)));
  }

  /** One field of `_io.output`. */
  getOutputField(key) {
    return fromWit(this.#call(({ ioTable }, unit) => ioTable.getOutputField(unit, key)));
  }

  /** Replaces `_io.meta`. */
  setMetadata(value) {
    const wit = toWit(value, 'meta');
    this.#call(({ ioTable }, unit) => ioTable.setMetadata(unit, wit));
  }

  /** `_io.meta`. */
  getMetadata() {
    return fromWit(this.#call(({ ioTable }, unit) => ioTable.getMetadata(unit)));
  }

  /** Clears `_io.input`, `_io.output` and `_io.meta`. */
  clearIo() {
    this.#call(({ ioTable }, unit) => ioTable.clear(unit));
  }

  /**
   * The value at `path` in `_home` (`users.alice`, `list[2]`, or an array of keys); with
   * `text: true` as Lua-like text.
   */
  homeGet(path, { text = false } = {}) {
    const segments = parsePath(path);
    const value = this.#call(({ homeStore }, unit) => homeStore.get(unit, segments));
    return text ? luaText(value) : fromWit(value);
  }

  /** Stores `value` at `path`, making missing tables on the way; undefined or null deletes. */
  homeSet(path, value) {
    const segments = parsePath(path);
    const wit = toWit(value, `_home.${path}`);
    this.#call(({ homeStore }, unit) => homeStore.set(unit, segments, wit));
  }

  /** Deletes the value at `path`. */
  homeDelete(path) {
    const segments = parsePath(path);
    this.#call(({ homeStore }, unit) => homeStore.delete(unit, segments));
  }

  /** The keys of the table at `path`, in the store's order: `[{ key, kind }]`. */
  homeKeys(path = '') {
    const segments = parsePath(path);
    const keys = this.#call(({ homeStore }, unit) => homeStore.keys(unit, segments));
    return keys.map(({ key, kind }) => ({ key: fromWit(key), kind }));
  }

  /**
   * Runs the seeds' batch operations as one transaction, in order, each seeing the writes of
   * those before: `{ type: 'get' | 'set' | 'delete', path, value }`, or with `table` and `key` in
   * place of `path`, and `{ type: 'query', table, query }`. Returns one value per operation: what
   * a get read, a query's `[{ key, value }]`, undefined for the others.
   */
  homeBatch(operations) {
    const wit = operations.map((operation, i) => operationOf(operation, i, toWit));
    return this.#call(({ homeStore }, unit) => homeStore.batch(unit, wit)).map(fromWit);
  }

  /** Seed 004's name for `homeBatch`: resolves to the results. */
  async batchTableOperations(operations) {
    return this.homeBatch(operations);
  }

  /**
   * Creates an index on a field of every record of a table, built from the records it holds and
   * kept by every commit: `createIndex('Memory', 'appUsers.score', 'btree')` or
   * `createIndex('appUsers', 'address.city', 'hash')`. Both types are the same ordered index.
   * Resolves to `{ table, field, type }`.
   */
  async createIndex(table, field, type = 'btree') {
    const target = indexTarget(table, field);
    const kind = target.type ?? type;
    if (kind !== 'btree' && kind !== 'hash') {
      throw new CuError(`unknown index type ${JSON.stringify(kind)}: use btree or hash`, 'conversion');
    }
    return indexInfo(
      this.#call(({ homeStore }, unit) => homeStore.createIndex(unit, target.table, target.field, kind)),
    );
  }

  /** Drops an index named as `createIndex` names it; resolves to whether there was one. */
  async dropIndex(table, field) {
    const target = indexTarget(table, field);
    return this.#call(({ homeStore }, unit) => homeStore.dropIndex(unit, target.table, target.field));
  }

  /** Every index: `[{ table, field, type }]`. */
  listIndexes() {
    return this.#call(({ homeStore }, unit) => homeStore.listIndexes(unit)).map(indexInfo);
  }

  /** What disagrees between the indexes and their tables (nothing, when all is well). */
  checkIndexes() {
    return this.#call(({ homeStore }, unit) => homeStore.checkIndexes(unit));
  }

  /**
   * The records of a table that a query selects, in the seeds' form: `queryTable('Memory', {
   * table: 'appUsers', field: 'score', operator: '>=', value: 800, limit: 10, sort: 'desc' })`;
   * several conditions go in `where: [{ field, operator, value }, ...]`. Resolves to `[{ key,
   * value }]` in order.
   */
  async queryTable(table, query) {
    const wit = toWit(queryOf(table, query), 'query');
    const hits = this.#call(({ homeStore }, unit) => homeStore.query(unit, wit));
    return hits.map(({ key, value }) => ({ key: fromWit(key), value: fromWit(value) }));
  }

  /**
   * Sets the schema of a table's records, checked at every commit from now on: `{ age: { type:
   * 'number', min: 0, max: 150 }, email: { type: 'string', pattern: /^[^\s@]+@[^\s@]+$/ } }`. A
   * RegExp becomes a Lua pattern (src/common/pattern.js); null removes the schema. Rejects with
   * a SchemaError, changing nothing, when a record already breaks it.
   */
  async setSchema(table, schema) {
    const wit = toWit(schemaOf(schema), 'schema');
    this.#call(({ homeStore }, unit) => homeStore.setSchema(unit, tablePath(table), wit));
  }

  /** The schema of a table, with its patterns as Lua patterns; undefined when it has none. */
  getSchema(table) {
    return fromWit(this.#call(({ homeStore }, unit) => homeStore.getSchema(unit, tablePath(table))));
  }

  /** Whether `code` compiles as an expression, without running it: `{ isValid, error, line }`. */
  async validateFunction(code) {
    const { isValid, error, line } = this.#call(({ homeStore }, unit) => homeStore.validateFunction(unit, code));
    return { isValid, error, line };
  }

  /**
   * Stores the function (or table of functions) `code` evaluates to as `name` in `table` (`'Memory'`:
   * `_home` itself). Inside the code, `name` is the function, so it can call itself. Resolves to
   * true; code that does not compile is refused with the compiler's message.
   */
  async persistFunction(table, name, code) {
    this.#call(({ homeStore }, unit) => homeStore.persistFunction(unit, tablePath(table), name, code));
    return true;
  }

  /**
   * Records each commit of the listed operations in the audit log, replacing the list before:
   * `compute`, `set`, `delete`, `batchTableOperations`, `persistFunction`, `createIndex`,
   * `dropIndex`, `setSchema`, `saveSnapshot`, `restoreSnapshot` (`loadState`), `deleteSnapshot`.
   */
  async enableAuditLog(operations) {
    this.#call(({ homeStore }, unit) => homeStore.enableAuditLog(unit, operations));
  }

  /** Audit log entries, oldest first: `[{ time, operation, targets, more, label }]`. */
  getAuditLog({ since, until, limit } = {}) {
    const ms = (date) => (date === undefined ? undefined : BigInt(new Date(date).getTime()));
    const entries = this.#call(({ homeStore }, unit) => homeStore.readAuditLog(unit, ms(since), ms(until), limit));
    return entries.map(({ timeMs, operation, targets, more, label }) => ({
      time: new Date(Number(timeMs)),
      operation,
      targets,
      more: Number(more),
      label,
    }));
  }

  /** Labels this unit's audit log entries from now on (undefined: no label). */
  setAuditLabel(label) {
    this.options.auditLabel = label;
    this.#call(({ homeStore }, unit) => homeStore.setAuditLabel(unit, label));
  }

  /** What `_home` holds: `{ tables, functions, entries, bytes, saved }` (saved: bytes compression saves). */
  getTableInfo() {
    return numbers(this.#call(({ homeStore }, unit) => homeStore.stats(unit)));
  }

  /**
   * Saves a named copy of `_home` (default `"default"`) and resolves to true once the store holds
   * everything durably. (`_home` itself is stored after every call; this makes a point to return to.)
   */
  async saveState(name = 'default') {
    this.#call(({ homeStore }, unit) => homeStore.saveSnapshot(unit, name));
    await this.flush();
    return true;
  }

  /** Replaces `_home` with the copy saved as `name`; resolves to false when there is none. */
  async loadState(name = 'default') {
    if (!this.listStates().some((state) => state.name === name)) return false;
    this.#call(({ homeStore }, unit) => homeStore.restoreSnapshot(unit, name));
    await this.flush();
    return true;
  }

  /** Every saved copy of `_home`: `[{ name, keys, bytes, savedAt }]`. */
  listStates() {
    const list = this.#call(({ homeStore }, unit) => homeStore.listSnapshots(unit));
    return list.map(({ name, keys, bytes, savedMs }) => ({
      name,
      keys: Number(keys),
      bytes: Number(bytes),
      savedAt: new Date(Number(savedMs)),
    }));
  }

  /** Deletes the copy saved as `name`; returns whether there was one. */
  deleteState(name) {
    return this.#call(({ homeStore }, unit) => homeStore.deleteSnapshot(unit, name));
  }

  /** Resolves once every write the store has taken is durable; rejects with a StoreError if one failed. */
  async flush() {
    try {
      await this.store.flush?.();
    } catch (error) {
      throw new StoreError({ kind: 'unavailable', message: String(error?.message ?? error) });
    }
  }

  /** Memory use in bytes: `{ used, limit, linear, total, free }` (total and free as in the seeds). */
  getMemoryStats() {
    return withTotals(numbers(this.#call((_, unit) => unit.memoryStats())));
  }

  /** Runs a full garbage collection; returns memory use afterwards. */
  runGc() {
    return withTotals(numbers(this.#call((_, unit) => unit.collectGarbage())));
  }

  /** Drops every global and starts a fresh Lua state; `_home` is kept. */
  reset() {
    this.#call((_, unit) => unit.reset());
  }

  /** Releases the unit. Its instance of the component may go to the next unit made. */
  close() {
    // Closing mid-call would hand an instance that is still running to the next unit.
    this.#refuseWhileBusy();
    this.#leave();
  }

  [Symbol.dispose]() {
    this.close();
  }
}

function withTotals(stats) {
  const total = stats.limit || stats.linear;
  return { ...stats, total, free: Math.max(total - stats.used, 0) };
}

/**
 * Seed 004's entry point over a platform's `Cu`: `const lua = await LuaWASM.init()` gives a loaded
 * unit on which the seed's Lua code can call `_home` by the seed's name, `Memory`.
 */
export function luaWasm(PlatformCu) {
  return {
    /** A loaded unit; with `worker: true`, one in a Worker (every method then async). */
    async init(options = {}) {
      const lua = new PlatformCu(options);
      await lua.load();
      await lua.init();
      await lua.computeAll('Memory = _home');
      return lua;
    },
  };
}

/** The seeds' `IoWrapper` of an entry point: over `defaultUnit` when given no unit. */
export function ioWrapperOver(defaultUnit) {
  // Made as a property, so that the class is named `IoWrapper` too.
  return {
    IoWrapper: class extends IoWrapper {
      constructor(unit = defaultUnit) {
        super(unit);
      }
    },
  }.IoWrapper;
}

/** The seeds' `IoWrapper`: `_io` round trips over a `Cu`. */
class IoWrapper {
  /** @param {Cu} cu the unit to run in */
  constructor(cu) {
    this.cu = cu;
  }

  /**
   * Sets `_io.input` to `input`, runs `code`; resolves to `{ values, output, meta, printed,
   * instructions }`. It runs at once, as `compute` does.
   */
  computeWithIo(code, input) {
    return this.cu[whenFetched](code, () => {
      this.cu.setInput(input);
      const { values, printed, instructions } = this.cu.computeAll(code);
      return { values, output: this.cu.getOutput(), meta: this.cu.getMetadata(), printed, instructions };
    });
  }

  /**
   * Runs `code` once per batch of `batchSize` items (default 1000), each batch in
   * `_io.input.batch`, and resolves to every batch's `_io.output` in order. `onProgress({ batches,
   * items, total })` follows each batch. A failing batch rejects with a BatchError.
   */
  async processStream(code, items, { batchSize = 1000, onProgress } = {}) {
    if (!(batchSize >= 1)) throw new CuError('batchSize must be at least 1', 'conversion');
    await this.cu[whenFetched](code, () => {});
    const outputs = [];
    for (let first = 0; first < items.length; first += batchSize) {
      const batch = items.slice(first, first + batchSize);
      try {
        this.cu.setInputField('batch', batch);
        this.cu.computeAll(code);
        outputs.push(this.cu.getOutput());
      } catch (cause) {
        const number = outputs.length + 1;
        throw new BatchError({ batch: number, first: first + 1, last: first + batch.length, outputs, cause });
      }
      onProgress?.({ batches: outputs.length, items: first + batch.length, total: items.length });
      // Let the page paint and timers run between batches.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    return outputs;
  }

  /** Calls the global Lua function `method` with `params`; resolves to its first result. */
  async request(method, params) {
    return this.cu.callAll(method, [params]).values[0];
  }
}
