// jco's glue for Node, compiled with V8's code cache. Compiling its 0.4 MB of JavaScript took
// some 7 ms of every cold start, and its functions compiled at the first unit and call 2–3 ms
// more (docs/ARCHITECTURE.md, "Start-up and memory"). Compiled as a classic script, the glue's
// code, with every function compiled by the time the process exits, is bytes V8 gives to keep
// and takes back in the next process in under 2 ms. The cache lives beside the CLI's compiled
// component (`CU_CACHE_DIR`, by default `~/.cache/cu`), one file per glue, named by the hash of
// its text that `cargo xtask build` heads it with. V8 rejects a cache made by another V8, with
// other flags or for a text of another length, and it is then written again. As with the CLI's,
// the directory must be writable only by the user: V8 runs the code it loads from there.

import { importGlueModule } from '../common/component.js';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from './builtins.js';

const { homedir, platform } = process.getBuiltinModule('node:os');
const { join } = process.getBuiltinModule('node:path');

const GLUE = new URL('../../generated/guest.js', import.meta.url);
/** How long a process that compiled the glue runs before it writes the cache, if it has not exited. */
const KEEP_AFTER_MS = 2000;

/**
 * `<user cache dir>/cu`, as the CLI's default (Rust's `dirs::cache_dir`): `$XDG_CACHE_HOME/cu` or
 * `~/.cache/cu` on Linux, `~/Library/Caches/cu` on macOS, `%LOCALAPPDATA%\cu` on Windows.
 */
export function defaultCacheDir(env = process.env, system = platform()) {
  if (env.CU_CACHE_DIR) return env.CU_CACHE_DIR;
  if (system === 'win32') return env.LOCALAPPDATA ? join(env.LOCALAPPDATA, 'cu') : undefined;
  if (system === 'darwin') return join(homedir(), 'Library', 'Caches', 'cu');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'cu');
}

/**
 * The glue's exports (`instantiate`), its code cached in `cacheDir` (none: compiled as the
 * browser's is, by an `import`). Deno and Bun take the Node entry too, and import the glue: both
 * take a `vm.Script`'s cache, but it made no start shorter there (from the import to the first
 * result, medians of 9 interleaved: Deno 46.1 ms against 42.4 without, then 44.6 against 46.8;
 * Bun 42.4 against 39.1, then 47.4 against 43.2).
 */
export async function importGlue(cacheDir) {
  if (!cacheDir || process.versions.bun || process.versions.deno) return importGlueModule();
  const text = readFileSync(GLUE, 'utf8');
  const stamp = /^\/\/ cu glue sha256:(\w+)\n/.exec(text);
  if (!stamp) throw new Error(`${GLUE.pathname} has no hash on its first line: build it with \`cargo xtask build\``);
  const file = join(cacheDir, `glue-${stamp[1].slice(0, 32)}.v8`);
  const { Script } = process.getBuiltinModule('node:vm');
  const cachedData = cached(file);
  const script = new Script(asScript(text), { filename: GLUE.href, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    // Written once, with every function the process compiled by then (the first unit's and
    // call's too): at exit, or after a while in a process that runs on, such as a server, which
    // a signal stops without an exit.
    const write = () => {
      process.off('exit', write);
      clearTimeout(timer);
      keep(script, cacheDir, file);
    };
    process.once('exit', write);
    const timer = setTimeout(write, KEEP_AFTER_MS).unref();
  }
  return script.runInThisContext();
}

/**
 * The glue's module text as a script whose value is what the module exports. The module ends by
 * exporting its names (`export{ko as _util,ho as instantiate};` once minified); the script runs
 * its body in a function, in strict mode as a module runs, and returns them.
 */
function asScript(text) {
  const end = text.lastIndexOf('export');
  const exports = /^export\s*\{([^}]*)\};?\s*$/.exec(text.slice(end));
  if (end < 0 || !exports) throw new Error(`${GLUE.pathname} does not end with its exports, as jco's glue does`);
  const names = exports[1].split(',').map((pair) => {
    const [local, exported = local] = pair.trim().split(/\s+as\s+/);
    return `${JSON.stringify(exported)}: ${local}`;
  });
  return `(function () {"use strict";\n${text.slice(0, end)}\nreturn { ${names.join(', ')} };\n})()`;
}

/**
 * The code cache in `file`, or undefined when there is none or its checksum fails. V8 checks
 * a cache's version, flags and length, not its contents: bytes changed on disk would crash the
 * process as V8 reads them. A file is the CRC-32 of the cache, little-endian, then the cache.
 */
function cached(file) {
  let bytes;
  try {
    bytes = readFileSync(file);
  } catch {
    // Not cached yet (or unreadable): compiled from the text, and cached when the process ends.
    return undefined;
  }
  const data = bytes.subarray(4);
  return bytes.length > 4 && bytes.readUInt32LE(0) === checksum(data) ? data : undefined;
}

/** The CRC-32 of `bytes`. */
const checksum = (bytes) => process.getBuiltinModule('node:zlib').crc32(bytes);

/** Writes the script's code cache atomically; a cache that cannot be written costs only speed. */
function keep(script, dir, file) {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const data = script.createCachedData();
    const sum = Buffer.alloc(4);
    sum.writeUInt32LE(checksum(data));
    // Unique per writer: a process's Workers write at their own exits.
    const temp = `${file}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(temp, Buffer.concat([sum, data]), { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    // A read-only or full disk: the next process compiles the glue again.
  }
}
