// Paths through `_home` for the host's home-store operations: `users.alice`, `list[2]`,
// `_home.users` (the `_home.` is optional), or an array of keys (`['users', 'a.b', 2]`) when a
// key holds a dot. Empty means `_home` itself.

import { ConversionError } from './errors.js';

/** The component's `segment` list for `path`. */
export function parsePath(path) {
  if (Array.isArray(path)) {
    return path.map((key) =>
      typeof key === 'string' ? { tag: 'name', val: key } : { tag: 'index', val: BigInt(key) },
    );
  }
  const bad = (why) => new ConversionError(String(path), `is not a _home path: ${why}`);
  if (typeof path !== 'string') throw bad('a path is a string or an array of keys');
  const rest = path === '_home' ? '' : /^_home[.[]/.test(path) ? path.slice(5).replace(/^\./, '') : path;
  const segments = [];
  for (const part of rest.split('.').filter((p) => p !== '')) {
    const bracket = part.indexOf('[');
    const name = bracket < 0 ? part : part.slice(0, bracket);
    if (name !== '') segments.push({ tag: 'name', val: name });
    let inside = bracket < 0 ? '' : part.slice(bracket + 1);
    while (inside !== '') {
      const close = inside.indexOf(']');
      if (close < 0) throw bad('a `[` without `]`');
      const index = inside.slice(0, close).trim();
      if (!/^-?\d+$/.test(index)) throw bad('brackets hold an integer');
      segments.push({ tag: 'index', val: BigInt(index) });
      const after = inside.slice(close + 1);
      if (after !== '' && !after.startsWith('[')) throw bad('a `]` must be followed by `.`, `[` or the end');
      inside = after.slice(1);
    }
  }
  return segments;
}
