// JavaScript regular expressions as Lua patterns, for schemas: the component checks a field with
// Lua's `string.find`, so a RegExp given to `setSchema` is translated here. What both languages
// have translates: anchors, `.`, classes (`[^\s@]`, `\d`, `\w`, `\s` and their negations),
// escaped characters, and `*`, `+`, `?`, `*?` and `{n,m}` on a single item. What Lua patterns
// lack — groups, alternation (`|`), word boundaries, back-references, lookaround, and the `i`,
// `m`, `s` and `y` flags — is refused with a message that names it.

import { CuError } from './errors.js';

/** Characters with a meaning in Lua patterns, escaped with `%` when meant literally. */
const MAGIC = new Set('^$()%.[]*+-?');
/** The same inside a set: `]` ends it, `^` negates it at its start, `-` makes a range. */
const SET_MAGIC = new Set('^]%-');
/** Class escapes both languages have. `\w` is Lua's `%w` (letters and digits) and `_`. */
const CLASSES = { d: '%d', D: '%D', s: '%s', S: '%S', w: '[%w_]', W: '[^%w_]' };
const IN_SET = { d: '%d', s: '%s', w: '%w_' };
const CONTROL = { t: '\t', n: '\n', r: '\r', f: '\f', v: '\v', 0: '\0' };

function refuse(regexp, what) {
  return new CuError(`the pattern ${regexp} cannot be a Lua pattern: ${what} (write a Lua pattern string instead)`, 'conversion');
}

function literal(char, magic = MAGIC) {
  return magic.has(char) ? `%${char}` : char;
}

/** The Lua pattern that matches what `regexp` matches. */
export function luaPattern(regexp) {
  const flags = regexp.flags.replace(/[gdu]/g, '');
  if (flags !== '') throw refuse(regexp, `the flag${flags.length > 1 ? 's' : ''} ${flags}`);
  const source = regexp.source;
  const items = [];
  let out = '';
  let i = 0;
  if (source.startsWith('^')) {
    out = '^';
    i = 1;
  }
  const escape = (char, inSet) => {
    if (CONTROL[char] !== undefined) return literal(CONTROL[char], inSet ? SET_MAGIC : MAGIC);
    if (/[bB]/.test(char)) throw refuse(regexp, 'word boundaries (\\b)');
    if (/[1-9k]/.test(char)) throw refuse(regexp, 'back-references');
    if (/[a-zA-Z]/.test(char)) {
      const cls = (inSet ? IN_SET : CLASSES)[char];
      if (cls === undefined) throw refuse(regexp, `the escape \\${char}${inSet ? ' inside [...]' : ''}`);
      return cls;
    }
    return literal(char, inSet ? SET_MAGIC : MAGIC);
  };
  while (i < source.length) {
    const char = source[i];
    if (char === '$' && i === source.length - 1) {
      items.push('$');
      i++;
    } else if (char === '(' || char === ')') {
      throw refuse(regexp, 'groups ( )');
    } else if (char === '|') {
      throw refuse(regexp, 'alternation (|)');
    } else if (char === '\\') {
      items.push(escape(source[i + 1], false));
      i += 2;
    } else if (char === '[') {
      let set = '[';
      i++;
      if (source[i] === '^') {
        set += '^';
        i++;
      }
      while (source[i] !== ']') {
        if (i >= source.length) throw refuse(regexp, 'a [ without ]');
        if (source[i] === '\\') {
          set += escape(source[i + 1], true);
          i += 2;
        } else if (source[i + 1] === '-' && source[i + 2] !== ']' && i + 2 < source.length) {
          set += `${literal(source[i], SET_MAGIC)}-${literal(source[i + 2], SET_MAGIC)}`;
          i += 3;
        } else {
          set += literal(source[i], SET_MAGIC);
          i++;
        }
      }
      items.push(`${set}]`);
      i++;
    } else if ('*+?'.includes(char) || char === '{') {
      const item = items.pop();
      if (item === undefined || item === '$') throw refuse(regexp, `a ${char} with nothing to repeat`);
      let lazy = false;
      let [min, max] = char === '*' ? [0, Infinity] : char === '+' ? [1, Infinity] : char === '?' ? [0, 1] : [];
      if (char === '{') {
        const bounds = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i));
        if (bounds === null) throw refuse(regexp, 'a { that is not a repetition');
        min = Number(bounds[1]);
        max = bounds[2] === undefined ? min : bounds[3] === '' ? Infinity : Number(bounds[3]);
        i += bounds[0].length;
      } else {
        i++;
      }
      if (source[i] === '?') {
        lazy = true;
        i++;
      }
      if (lazy && max !== Infinity) throw refuse(regexp, 'a lazy repetition with an upper bound');
      if (max === Infinity) {
        // Lua has `*`, `+` and the lazy `-` (zero or more); `+` needs one item before `-`.
        const greedy = min === 0 ? `${item}*` : `${item.repeat(min - 1)}${item}+`;
        items.push(lazy ? `${item.repeat(min)}${item}-` : greedy);
      } else {
        items.push(item.repeat(min) + `${item}?`.repeat(max - min));
      }
    } else if (char === '.') {
      items.push('.');
      i++;
    } else {
      items.push(literal(char));
      i++;
    }
  }
  return out + items.join('');
}
