// The jco-transpiled component (generated/, built by `cargo xtask build`): its core modules are
// compiled once per JavaScript realm, then every instance is made synchronously from them, in
// under a millisecond. Each cu unit has an instance of its own, so that a trap in one leaves the
// others running.

import { instantiate } from '../../generated/guest.js';
import { bucketClass } from './kv.js';
import { MemoryStore } from './memory-store.js';
import { wasiImports } from './wasi.js';

/** Compiled core modules by file name, once loaded. */
const modules = new Map();
let loading;

/**
 * Compiles the component's core modules; `fetchBytes(name)` reads one file of generated/.
 * Later calls return the first call's promise.
 */
export function loadComponent(fetchBytes) {
  loading ??= (async () => {
    // Instantiating once, asynchronously, names and compiles every core module.
    const compile = async (name) => {
      const module = await WebAssembly.compile(await fetchBytes(name));
      modules.set(name, module);
      return module;
    };
    const discard = () => {};
    await instantiate(compile, imports(new MemoryStore(), { stdout: discard, stderr: discard }));
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

function imports(store, sinks) {
  return { 'cu:unit/kv': { Bucket: bucketClass(store) }, ...wasiImports(sinks) };
}

/**
 * A new instance of the component with `store` behind its kv import; `sinks.stdout` and
 * `sinks.stderr` receive what it writes. Needs `loadComponent` to have finished.
 */
export function newInstance(store, sinks) {
  if (modules.size === 0) throw new Error('cu is not loaded yet: await load() first');
  return instantiate(
    (name) => modules.get(name),
    imports(store, sinks),
    (module, importObject) => new WebAssembly.Instance(module, importObject),
  );
}
