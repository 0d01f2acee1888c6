// The jco-transpiled component (generated/, built by `cargo xtask build`): its core modules are
// compiled once per JavaScript realm, then every instance is made synchronously from them, in
// under a millisecond. By default each live cu unit has an instance of its own, which a trap in it
// discards; units made with `isolation: 'shared'` share instances, each in a Lua state of its own,
// for a fraction of the memory, and a trap resets only the unit that trapped (Instance#trap).

import { bucketClass } from './kv.js';
import { wasiImports } from './wasi.js';

/** The component's core modules, as jco names its files in generated/. */
export const CORE_MODULES = ['guest.core.wasm', 'guest.core2.wasm', 'guest.core3.wasm'];

/** Compiled core modules by file name, once loaded. */
const modules = new Map();
let loading;
/** jco's glue's `instantiate`, once loading imported the glue. */
let instantiate;

/** jco's glue's exports, by an `import` of the module (as browsers, Deno and Bun load it). */
export const importGlueModule = () => import('../../generated/guest.js');

/**
 * Compiles the component's core modules; `fetchBytes(name)` reads one file of generated/ (or
 * gives it compiled, as a WebAssembly.Module), and `importGlue()` gives jco's glue's exports.
 * Later calls return the first call's promise.
 */
export function loadComponent(fetchBytes, importGlue = importGlueModule) {
  loading ??= (async () => {
    const toModule = (bytes) => (bytes instanceof WebAssembly.Module ? bytes : WebAssembly.compile(bytes));
    const compile = (name) => {
      // Bytes at hand (Node reads them synchronously) start compiling now, not a microtask later.
      const fetched = fetchBytes(name);
      const module = fetched instanceof Promise ? fetched.then(toModule) : toModule(fetched);
      return Promise.resolve(module).then((compiled) => {
        modules.set(name, compiled);
        return compiled;
      });
    };
    // Every module is asked for before the glue is imported: V8 compiles them on other threads
    // while the main thread parses the glue's 0.4 MB of JavaScript, which asks for them only at
    // the end of its `instantiate`.
    const compiling = new Map(CORE_MODULES.map((name) => [name, compile(name)]));
    // The glue awaits them one by one: a failure is its to report, not an unhandled rejection.
    for (const promise of compiling.values()) promise.catch(() => {});
    ({ instantiate } = await importGlue());
    // The instance made once the modules are compiled is the first unit's: a cold start makes
    // one instance, not two.
    const first = new Instance((name) => compiling.get(name) ?? compile(name));
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
 * Units that share one instance at most: what one 4 GiB memory holds, and what an instance a unit
 * trapped in goes on with until its last unit closes.
 */
const SHARED_UNITS = 32;
/** Instances of units made with `isolation: 'shared'` that take new units: none has trapped. */
const sharedInstances = new Set();

/**
 * An instance of the component: `exports` are the component's exports; `use(store, sinks,
 * modules)` puts `store` behind its kv import (for buckets opened from then on) and `modules`
 * behind its modules import, and sends what it writes to `sinks.stdout` and `sinks.stderr`, for
 * the unit whose call enters it next.
 */
class Instance {
  #context = { store: undefined, sinks: undefined, modules: undefined };
  #memory;
  /** The guest's stack pointer (exported by `cargo xtask build`), and its value between calls. */
  #stackPointer;
  #stackTop;
  /** Whether a call is running in it: a store or print callback may not enter it again. */
  busy = false;
  /** What trapped in it, when it is a unit's own: it is not entered again. */
  trapped;
  /** Whether a trapped unit's Lua state is left in its memory: it takes no more units. */
  holdsTrapped = false;
  /** Live units whose Lua states are in it. */
  units = 0;

  /**
   * Instantiates the component from the compiled modules, synchronously; or, given `compile`
   * (name => promise of a module, while loading), awaits them and resolves `ready` when done.
   */
  constructor(compile) {
    const noted = (instance) => {
      if (instance.exports.memory instanceof WebAssembly.Memory) this.#memory = instance.exports.memory;
      if (instance.exports.cu_stack_pointer instanceof WebAssembly.Global) {
        this.#stackPointer = instance.exports.cu_stack_pointer;
        this.#stackTop = this.#stackPointer.value;
      }
      return instance;
    };
    // Compiled modules instantiate at once, even while loading: jco's glue goes on without
    // waiting a turn for each of the three.
    const core = (module, importObject) => noted(new WebAssembly.Instance(module, importObject));
    if (compile !== undefined) {
      this.ready = instantiate(compile, imports(this.#context), core).then((exports) => {
        this.exports = exports;
      });
      return;
    }
    if (modules.size === 0) throw new Error('cu is not loaded yet: await load() first');
    this.exports = instantiate((name) => modules.get(name), imports(this.#context), core);
  }

  use(store, sinks, modules) {
    this.#context.store = store;
    this.#context.sinks = sinks;
    this.#context.modules = modules;
  }

  /**
   * Notes that a unit's call trapped; `shared`: the unit was made with `isolation: 'shared'`. A
   * unit's own instance is let go. A shared one goes on for its other units, whose Lua states the
   * trap did not reach: every trap the guest can raise leaves its
   * allocator whole (an abort on a panic or a failed allocation, an error thrown by a host
   * function, the engine's stack check when a function is entered). The trap skipped the
   * epilogues that give the shadow stack back, so the stack pointer is put back where every call
   * starts; the trapped unit's Lua state stays in the memory, unreachable (guest/src/unit.rs), so
   * the instance takes no new units and is let go when its last one closes. (jco itself refuses
   * an instance for good only after a host function threw a WebAssembly.RuntimeError, which the
   * package's never do: stores' errors reach the guest as kv errors, and the printer is called
   * after the call returns.)
   */
  trap(error, shared) {
    sharedInstances.delete(this);
    if (shared) {
      this.#stackPointer.value = this.#stackTop;
      this.holdsTrapped = true;
    } else {
      this.trapped = error;
    }
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
 * Units collected without being closed: their Lua states are freed by jco's own finalizer of
 * the `unit` resource; this gives their place in the instance back.
 */
const forgotten = new FinalizationRegistry((instance) => releaseInstance(instance));

/**
 * An instance of the component for `holder`, a new unit, needing `loadComponent` to have finished:
 * one of its own (a closed unit's when one is kept), or with `share`, one that other such units
 * share while it has room and no call running in it.
 */
export function acquireInstance(holder, share) {
  let instance;
  if (share) {
    for (const candidate of sharedInstances) {
      if (candidate.units < SHARED_UNITS && !candidate.busy) {
        instance = candidate;
        break;
      }
    }
  }
  instance ??= idle.pop() ?? new Instance();
  if (share) sharedInstances.add(instance);
  instance.units += 1;
  forgotten.register(holder, instance, holder);
  return instance;
}

/**
 * Takes back the instance of `holder`, a unit that was closed or trapped. An instance no unit
 * holds is kept for the next unit unless a unit trapped in it.
 */
export function releaseInstance(instance, holder) {
  if (holder !== undefined) forgotten.unregister(holder);
  instance.units -= 1;
  if (instance.units > 0 || instance.trapped !== undefined || instance.holdsTrapped) return;
  sharedInstances.delete(instance);
  instance.use(undefined, undefined, undefined);
  if (idle.length < MAX_IDLE && instance.memoryBytes <= MAX_IDLE_MEMORY) idle.push(instance);
}
