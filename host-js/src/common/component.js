// The jco-transpiled component (generated/, built by `cargo xtask build`): its core modules are
// compiled once per JavaScript realm, then every instance is made synchronously from them, in
// under a millisecond. Each live cu unit has an instance of its own, so that a trap in one leaves
// the others running.

import { instantiate } from '../../generated/guest.js';
import { bucketClass } from './kv.js';
import { wasiImports } from './wasi.js';

/** Compiled core modules by file name, once loaded. */
const modules = new Map();
let loading;

/**
 * Compiles the component's core modules; `fetchBytes(name)` reads one file of generated/ (or
 * gives it compiled, as a WebAssembly.Module). Later calls return the first call's promise.
 */
export function loadComponent(fetchBytes) {
  loading ??= (async () => {
    // Instantiating once, asynchronously, names and compiles every core module. The instance
    // made on the way is the first unit's: a cold start makes one instance, not two.
    const compile = async (name) => {
      const bytes = await fetchBytes(name);
      const module = bytes instanceof WebAssembly.Module ? bytes : await WebAssembly.compile(bytes);
      modules.set(name, module);
      return module;
    };
    const first = new Instance(compile);
    await first.ready;
    idle.push(first);
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

/**
 * Instances of closed units, kept for the next unit: a new Lua state in memory that is already
 * grown and touched runs its first seconds faster than one in a new instance (measured with
 * `npm run bench`: see the README), as wasmoon's states share one instance. Only an instance whose
 * unit was closed cleanly is kept, never one that trapped. The instance made while loading waits
 * here for the first unit too.
 */
const idle = [];
/** Closed units' instances kept at most. */
const MAX_IDLE = 1;
/** An instance whose memory has grown past this is let go rather than kept while idle. */
const MAX_IDLE_MEMORY = 128 * 1024 * 1024;

/**
 * An instance of the component, for one unit at a time: `exports` are the component's exports;
 * `use(store, sinks, modules)` puts `store` behind its kv import (for buckets opened from then
 * on) and `modules` behind its modules import, and sends what it writes to `sinks.stdout` and
 * `sinks.stderr`.
 */
class Instance {
  #context = { store: undefined, sinks: undefined, modules: undefined };
  #memory;

  /**
   * Instantiates the component from the compiled modules, synchronously; or, given `compile`
   * (name => promise of a module), compiles them on the way and resolves `ready` when done.
   */
  constructor(compile) {
    const noted = (instance) => {
      if (instance.exports.memory instanceof WebAssembly.Memory) this.#memory = instance.exports.memory;
      return instance;
    };
    if (compile !== undefined) {
      const core = async (module, importObject) => noted(await WebAssembly.instantiate(module, importObject));
      this.ready = instantiate(compile, imports(this.#context), core).then((exports) => {
        this.exports = exports;
      });
      return;
    }
    if (modules.size === 0) throw new Error('cu is not loaded yet: await load() first');
    const core = (module, importObject) => noted(new WebAssembly.Instance(module, importObject));
    this.exports = instantiate((name) => modules.get(name), imports(this.#context), core);
  }

  use(store, sinks, modules) {
    this.#context.store = store;
    this.#context.sinks = sinks;
    this.#context.modules = modules;
  }

  /** Bytes of linear memory the instance holds. */
  get memoryBytes() {
    return this.#memory?.buffer.byteLength ?? 0;
  }
}

function imports(context) {
  const sinks = {
    stdout: (bytes) => context.sinks.stdout(bytes),
    stderr: (bytes) => context.sinks.stderr(bytes),
  };
  return {
    'cu:unit/kv': { Bucket: bucketClass(() => context.store) },
    'cu:unit/modules': { find: (name) => context.modules.find(name) },
    ...wasiImports(sinks),
  };
}

/**
 * An instance of the component with `store` behind its kv import and `modules` (modules.js)
 * behind its modules import; `sinks.stdout` and `sinks.stderr` receive what it writes. Needs
 * `loadComponent` to have finished. Takes a closed unit's instance when one is kept.
 */
export function acquireInstance(store, sinks, modules) {
  const instance = idle.pop() ?? new Instance();
  instance.use(store, sinks, modules);
  return instance;
}

/** Takes back the instance of a unit that was closed cleanly (it holds no unit any more). */
export function releaseInstance(instance) {
  instance.use(undefined, undefined, undefined);
  if (idle.length < MAX_IDLE && instance.memoryBytes <= MAX_IDLE_MEMORY) idle.push(instance);
}
