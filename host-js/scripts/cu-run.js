// cu-run in Node: target/cu-run.wasm (cu-run composed with cu and kv-sqlite, compose/cu-run.wac)
// transpiled by jco into generated/cu-run/ (`cargo xtask build` does both), run with the WASI of
// jco's preview2-shim. `node scripts/cu-run.js script.lua one two` does what
// `wasmtime run --dir . target/cu-run.wasm script.lua one two` does: the current directory is the
// one preopened directory, `.`, where `_home` is kept in .cu/home.sqlite.

import { _setArgs, _setCwd } from '@bytecodealliance/preview2-shim/cli';
import { _setPreopens, types } from '@bytecodealliance/preview2-shim/filesystem';

_setArgs(['cu-run', ...process.argv.slice(2)]);
_setPreopens({ '.': process.cwd() });
// As under wasmtime, which gives no initial directory: paths are then taken from the preopen.
_setCwd('/');

// wasi-libc opens a file for reading and writing with the descriptor flag `mutate-directory`
// (SQLite's database file, for one), which wasmtime accepts and jco's shim (0.26) refuses as
// `unsupported`. The flag means nothing for a file, so files are opened without it.
const openAt = types.Descriptor.prototype.openAt;
types.Descriptor.prototype.openAt = function (pathFlags, path, openFlags, flags) {
  const asked = openFlags.directory ? flags : { ...flags, mutateDirectory: false };
  return openAt.call(this, pathFlags, path, openFlags, asked);
};

const { run } = await import('../generated/cu-run/cu-run.js');
try {
  run.run();
} catch (error) {
  // A command that fails returns an error from wasi:cli/run, which jco throws: status 1, as
  // wasmtime gives it. Its message is already on stderr.
  if (error?.constructor?.name !== 'ComponentError') throw error;
  process.exitCode = 1;
}
