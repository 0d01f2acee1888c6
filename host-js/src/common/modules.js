// The component's `modules` import (wit/modules.wit): the Lua modules a unit's `require` finds
// through this package. Modules added with `addModule` come first, then the module path, whose
// files each platform reads its own way (`files`, below): Node from its disk, a browser from what
// it fetched before the call. The rules are the Rust host's (module-path/src/lib.rs).

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** `require 'name'`, `require("name")`: the module names written out in `code` (text or bytes). */
export function requiredNames(code) {
  const text = typeof code === 'string' ? code : textDecoder.decode(code);
  return [...text.matchAll(/\brequire\s*\(?\s*(["'])([^"'\n]+)\1/g)].map((match) => match[2]);
}

/** Whether `name` is a module name: parts separated by dots, none empty, no `/`, `\` or NUL. */
export function validName(name) {
  return typeof name === 'string' && name !== '' && name.split('.').every((part) => part !== '') && !/[/\\\0]/.test(name);
}

export function invalidName(name) {
  return `module name ${JSON.stringify(name)} is not valid: its parts are separated by dots, none empty, and it holds no '/', '\\' or NUL`;
}

/**
 * One entry of a module path: a template with a `?` (`lib/?.lua`), confined to the directory
 * before the `?`; or a directory, which stands for `DIR/?.lua` and `DIR/?/init.lua`.
 */
export function patterns(entry) {
  if (!entry.includes('?')) {
    const dir = entry === '' ? '.' : entry.replace(/\/+$/, '');
    return [...patterns(`${dir}/?.lua`), ...patterns(`${dir}/?/init.lua`)];
  }
  const cut = entry.lastIndexOf('/', entry.indexOf('?')) + 1;
  const dir = cut === 0 ? '.' : cut === 1 ? '/' : entry.slice(0, cut - 1);
  return [{ template: entry, dir, file: entry.slice(cut) }];
}

/** Source as the component takes it: bytes, from a string or a Uint8Array. */
export function sourceBytes(source, what) {
  if (typeof source === 'string') return textEncoder.encode(source);
  if (source instanceof Uint8Array) return source;
  throw new TypeError(`${what} must be a string or a Uint8Array, not ${source === null ? 'null' : typeof source}`);
}

/** Thrown by a platform's `files` for a file that leads outside its directory. */
export class OutsideError extends Error {}

/**
 * Where one unit's modules come from: `added` by name, then `path` (entries as `patterns` reads
 * them) through `files`, an object with `size(dir, file)` (undefined when there is no such file)
 * and `read(dir, file)`; a file over `limit` bytes (0: none) is refused.
 */
export class Modules {
  #added = new Map();

  constructor({ path = [], files, limit = 0 }) {
    this.path = path.flatMap(patterns);
    this.files = files;
    this.limit = limit;
  }

  add(name, source) {
    if (!validName(name)) throw new TypeError(invalidName(name));
    this.#added.set(name, sourceBytes(source, `the source of module ${JSON.stringify(name)}`));
  }

  /** The import's `find`: the found variant, or throws the error payload (a string). */
  find(name) {
    if (!validName(name)) throw { payload: invalidName(name) };
    const added = this.#added.get(name);
    if (added !== undefined) return { tag: 'module', val: { source: added, origin: name } };
    const missing = [`no module '${name}' added by the host`];
    const asPath = name.replaceAll('.', '/');
    for (const { template, dir, file } of this.path) {
      const relative = file.replaceAll('?', asPath);
      const shown = template.replaceAll('?', asPath);
      try {
        const size = this.files.size(dir, relative);
        if (size === undefined) {
          missing.push(`no file '${shown}'`);
          continue;
        }
        if (this.limit > 0 && size > this.limit) {
          throw { payload: `'${shown}' holds ${size} bytes, more than the unit's memory limit of ${this.limit} bytes` };
        }
        return { tag: 'module', val: { source: this.files.read(dir, relative), origin: shown } };
      } catch (error) {
        if (error?.payload !== undefined) throw error;
        const why = error instanceof OutsideError ? `it leads outside '${dir}'` : String(error?.message ?? error);
        throw { payload: `cannot read '${shown}': ${why}` };
      }
    }
    return { tag: 'missing', val: missing };
  }
}

/** No module files: the platform has no module path. */
export const noFiles = { size: () => undefined, read: () => undefined };
