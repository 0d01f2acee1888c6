// Module files for Node: read from the disk when `require` asks for them, and only inside the
// directory of their path entry (a symlink that leads out is refused).

import { Modules, OutsideError } from '../common/modules.js';
import { readFileSync, realpathSync, resolve, sep, statSync } from './builtins.js';

/** The real path of `file` in `dir`, undefined when there is none; throws when it leads outside. */
function confined(dir, file) {
  let real;
  try {
    real = realpathSync(resolve(dir, file));
  } catch (error) {
    if (error?.code === 'ENOENT' || error?.code === 'ENOTDIR') return undefined;
    throw error;
  }
  const root = realpathSync(dir);
  if (!real.startsWith(root.endsWith(sep) ? root : root + sep)) throw new OutsideError();
  return real;
}

const files = {
  size(dir, file) {
    const real = confined(dir, file);
    if (real === undefined) return undefined;
    const stat = statSync(real);
    return stat.isFile() ? stat.size : undefined;
  },
  read(dir, file) {
    return new Uint8Array(readFileSync(confined(dir, file)));
  },
};

/** The modules of a unit made with `options.modulePath` (a directory, a `?` template, or an array of them). */
export function nodeModules(options, limit) {
  const entries = [options.modulePath ?? []].flat();
  const modules = new Modules({ path: entries, files, limit });
  for (const { dir } of modules.path) {
    let isDir = false;
    try {
      isDir = statSync(dir).isDirectory();
    } catch {}
    if (!isDir) throw new TypeError(`module directory '${dir}' does not exist`);
  }
  return modules;
}
