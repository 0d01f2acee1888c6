// A unit in a Worker (`new Cu({ worker: true })`): the same API, every method async, and a call
// that runs past its time limit without the component stopping it (one long C call, such as a
// `string.rep` of a gigabyte) is stopped by terminating the Worker, which a page or process
// survives. The Worker side is serve(), below; each platform's worker.js runs it.
//
// `_home` survives a terminate because the store, not the Worker, holds it: a SQLite file (Node)
// or IndexedDB (browsers), which the Worker opens itself. A Worker starts a call only once the
// writes of the calls before it are durable (IndexedDB writes them behind), so a terminate can
// only cut off the call that ran too long, which, having failed, writes nothing anyway.

import * as errors from './errors.js';
import { Float } from './values.js';

/** The methods a Worker unit forwards, all returning promises. */
const METHODS = [
  'init', 'compute', 'computeAll', 'eval', 'call', 'callAll', 'setGlobal', 'setInput', 'setInputField', 'getInput',
  'getOutput', 'getOutputField', 'setMetadata', 'getMetadata', 'clearIo', 'addModule', 'fetchModules', 'homeGet',
  'homeSet', 'homeDelete', 'homeKeys', 'homeBatch', 'batchTableOperations', 'createIndex', 'dropIndex', 'listIndexes',
  'checkIndexes', 'queryTable', 'setSchema', 'getSchema', 'validateFunction', 'persistFunction', 'enableAuditLog',
  'getAuditLog', 'setAuditLabel', 'getTableInfo', 'saveState', 'loadState', 'listStates', 'deleteState', 'flush',
  'getMemoryStats', 'runGc', 'reset',
];

/** Methods that wait on the store or the network, not on Lua: no time limit of the host's. */
const UNTIMED = new Set(['fetchModules', 'saveState', 'loadState', 'flush']);

/** A float marked by `float()` as it crosses to the Worker, where it becomes a Float again. */
const FLOAT_KEY = '\u0000cu.float';

function send(value) {
  if (value instanceof Float) return { [FLOAT_KEY]: value.value };
  if (Array.isArray(value)) return value.map(send);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, send(item)]));
  }
  return value;
}

function receive(value) {
  if (Array.isArray(value)) return value.map(receive);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    if (Object.hasOwn(value, FLOAT_KEY)) return new Float(value[FLOAT_KEY]);
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, receive(item)]));
  }
  return value;
}

/** An error as it crosses back: its class's name and its own fields. */
function errorOut(error) {
  return { name: error?.name, message: String(error?.message ?? error), fields: { ...error }, cause: error?.cause && errorOut(error.cause) };
}

/** The error a Worker reported, as the class it was. */
function errorIn({ name, message, fields, cause }) {
  const made = Object.create((errors[name] ?? (name === 'TypeError' ? TypeError : Error)).prototype);
  Object.assign(made, { message, stack: `${name}: ${message}` }, fields);
  if (cause !== undefined) made.cause = errorIn(cause);
  return made;
}

/**
 * The main thread's side: `makeWorker()` starts a Worker running the platform's worker.js, whose
 * messages arrive through `worker.onmessage` (an adapter for Node's worker_threads).
 */
export class WorkerUnit {
  #makeWorker;
  #worker;
  #pending = new Map();
  #next = 0;
  #loaded = false;

  #print;

  /** `platform` gives `makeWorker()` and `defaultPrint`. */
  constructor(options, { makeWorker, defaultPrint }) {
    if (options.store !== undefined && typeof options.store !== 'string') {
      throw new TypeError('a store object cannot move into a Worker: give the store as a string (sqlite:PATH, indexeddb, memory)');
    }
    const { print, worker: _, ...rest } = options;
    this.options = { ...rest, timeLimit: options.timeLimit ?? 5000 };
    this.#print = print ?? defaultPrint;
    this.#makeWorker = makeWorker;
  }

  #start() {
    const worker = this.#makeWorker();
    worker.onmessage = ({ data }) => {
      if (data.print !== undefined) {
        this.#print(data.print);
        return;
      }
      const waiting = this.#pending.get(data.id);
      if (waiting === undefined) return;
      this.#pending.delete(data.id);
      clearTimeout(waiting.timer);
      if (this.#pending.size === 0) worker.unref?.();
      if (data.ok) waiting.resolve(data.value);
      else waiting.reject(errorIn(data.error));
    };
    worker.postMessage({ id: -1, method: 'start', args: [this.options] });
    this.#worker = worker;
  }

  /** Starts the Worker and loads the component and store in it; resolves to this. */
  async load() {
    await this.#request('load', []);
    this.#loaded = true;
    return this;
  }

  /** Seed 001's name for `load`. */
  loadLuaWasm() {
    return this.load();
  }

  #request(method, args) {
    if (this.#worker === undefined) this.#start();
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const waiting = { resolve, reject, timer: undefined };
      const limit = this.options.timeLimit;
      if (limit > 0 && !UNTIMED.has(method) && method !== 'load') {
        // The component stops Lua at the limit itself; past half as much again, it cannot.
        waiting.timer = setTimeout(() => this.#stopRunaway(id), limit * 1.5 + 100);
      }
      this.#pending.set(id, waiting);
      // A Node Worker keeps its process alive only while a call waits on it.
      this.#worker.ref?.();
      this.#worker.postMessage({ id, method, args: send(args) });
    });
  }

  /** Terminates a Worker stuck in a call and starts a fresh one, as a ResetError says. */
  #stopRunaway(id) {
    const limit = this.options.timeLimit;
    this.#worker.terminate();
    this.#worker = undefined;
    const stuck = this.#pending.get(id);
    const others = [...this.#pending.entries()].filter(([other]) => other !== id);
    this.#pending.clear();
    const error = new errors.LimitError({
      kind: 'time',
      message: `time limit exceeded: the call ran past ${limit} ms and did not stop, so its Worker was stopped and a new one started: the unit's globals are gone, _home is intact`,
    });
    error.reset = true;
    stuck?.reject(error);
    for (const [, waiting] of others) {
      clearTimeout(waiting.timer);
      waiting.reject(new errors.ResetError(error));
    }
    if (this.#loaded) {
      this.#start();
      this.#request('load', []).catch(() => {});
    }
  }

  /** Stops the Worker. */
  close() {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#loaded = false;
    for (const [, waiting] of this.#pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new errors.CuError('the unit was closed', 'closed'));
    }
    this.#pending.clear();
  }

  static {
    for (const method of METHODS) {
      this.prototype[method] = function (...args) {
        return this.#request(method, args);
      };
    }
  }
}

/**
 * The Worker's side: makes the unit with `Cu` when the main thread says `start`, then runs each
 * method it asks for, once the writes of the calls before are durable. `post` sends a message
 * back; the caller feeds incoming messages to the returned function.
 */
export function serve(Cu, post) {
  let unit;
  let queue = Promise.resolve();
  return ({ id, method, args }) => {
    queue = queue.then(async () => {
      try {
        if (method === 'start') {
          const [options] = args;
          unit = new Cu({ ...options, print: (text) => post({ print: text }) });
          return;
        }
        if (method !== 'load') await unit.flush();
        let value = await unit[method](...receive(args));
        if (value === unit) value = undefined;
        post({ id, ok: true, value: send(value) });
      } catch (error) {
        if (id >= 0) post({ id, ok: false, error: errorOut(error) });
      }
    });
  };
}
