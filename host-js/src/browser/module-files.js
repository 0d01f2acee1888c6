// Module files for browsers: `require` runs synchronously inside the component, so the files are
// fetched before a call. `compute` (and `fetchModules`) look for `require('name')` in the code,
// fetch each module named there from `moduleBaseUrl` as NAME.lua or NAME/init.lua, and the
// modules those name in turn; `require` then reads what was fetched.

import { Modules, requiredNames, validName } from '../common/modules.js';

class FetchedFiles {
  /** URL → bytes, null (not there) or the Error fetching it failed with. */
  #fetched = new Map();

  #get(dir, file) {
    const got = this.#fetched.get(`${dir}/${file}`);
    if (got instanceof Error) throw got;
    return got ?? undefined;
  }

  size(dir, file) {
    return this.#get(dir, file)?.length;
  }

  read(dir, file) {
    return this.#get(dir, file);
  }

  /** Fetches the file at `url` unless it was; resolves to its bytes, or undefined. */
  async fetch(url) {
    if (!this.#fetched.has(url)) {
      try {
        const response = await fetch(url);
        this.#fetched.set(url, response.ok ? new Uint8Array(await response.arrayBuffer()) : null);
      } catch (error) {
        this.#fetched.set(url, new Error(`cu could not fetch it: ${error?.message ?? error}`));
      }
    }
    const got = this.#fetched.get(url);
    return got instanceof Uint8Array ? got : undefined;
  }
}

/** The modules of a unit made with `options.moduleBaseUrl` (resolved against the page). */
export function browserModules(options, limit) {
  const base = options.moduleBaseUrl;
  const path = base === undefined ? [] : [new URL(`${base}`.replace(/\/?$/, '/'), globalThis.location?.href).href];
  return new Modules({ path, files: new FetchedFiles(), limit });
}

/** Per unit's modules, the names already looked for (fetched, or found nowhere). */
const looked = new WeakMap();

/**
 * Fetches the modules `names` and every module they name in turn, wherever the path finds
 * each first; null, at once, when every name was looked for before. Names that are not module
 * names are left for `require` to refuse.
 */
export function prefetch(modules, names) {
  if (!looked.has(modules)) looked.set(modules, new Set());
  const seen = looked.get(modules);
  const fresh = names.filter((name) => validName(name) && !seen.has(name));
  return fresh.length === 0 ? null : fetchAll(modules, fresh, seen);
}

async function fetchAll(modules, names, seen) {
  const queue = [...names];
  while (queue.length > 0) {
    const name = queue.shift();
    if (seen.has(name) || !validName(name)) continue;
    seen.add(name);
    for (const { dir, file } of modules.path) {
      const source = await modules.files.fetch(`${dir}/${file.replaceAll('?', name.replaceAll('.', '/'))}`);
      if (source !== undefined) {
        queue.push(...requiredNames(source));
        break;
      }
    }
  }
}
