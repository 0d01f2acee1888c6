// Values between JavaScript and the component's `cu:unit/types.value`: nodes in preorder packed
// into bytes, each a tag byte and its payload, numbers little-endian (wit/types.wit). The mapping
// is in docs/VALUES.md, "JavaScript".

import { ConversionError } from './errors.js';

/** Lua's largest and smallest integers, as bigints. */
const MAX_INTEGER = 2n ** 63n - 1n;
const MIN_INTEGER = -(2n ** 63n);
/** Nesting deeper than this is refused, as the guest refuses it (docs/VALUES.md). */
export const MAX_DEPTH = 512;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });
const decoder = new TextDecoder();

/** How a key appears in a path: `.name`, `[3]`, `["two words"]`. */
function segment(key) {
  return typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(String(key))}]`;
}

/** The node tags of the packed form (wit/types.wit). */
const NIL = 0;
const FALSE = 1;
const TRUE = 2;
const INTEGER = 3;
const FLOAT = 4;
const STRING = 5;
const BIGINT = 6;
const ARRAY = 7;
const MAP = 8;

/**
 * Strings up to this many UTF-16 units are written and read a character at a time when they are
 * ASCII: for short ones, TextEncoder and TextDecoder cost more than the copying (a call with a
 * 100-field table, `npm run bench`).
 */
const SHORT_TEXT = 64;

/** What a container's entry in `Writer.trail` is: an array's element or a table's field. */
const ELEMENT = 0;
const FIELD = 1;

/** Packs nodes into a buffer that grows as they are added. */
class Writer {
  /** @param {string} root names the value in errors */
  constructor(root) {
    this.buffer = new Uint8Array(256);
    this.view = new DataView(this.buffer.buffer);
    this.size = 0;
    this.seen = new Set();
    this.root = root;
    /**
     * Where the value being written is, as pairs (ELEMENT, index) or (FIELD, key) per level:
     * the path an error names is made from it only when there is an error.
     */
    this.trail = [];
  }

  /** The path of the value at `depth` (`input.users[2]`). */
  path(depth) {
    let path = this.root;
    for (let level = 0; level < depth; level++) {
      const key = this.trail[2 * level + 1];
      path += this.trail[2 * level] === ELEMENT ? `[${key}]` : segment(key);
    }
    return path;
  }

  /** Records that the value at `depth + 1` is entry `key` (of kind ELEMENT or FIELD) at `depth`. */
  enter(depth, kind, key) {
    this.trail[2 * depth] = kind;
    this.trail[2 * depth + 1] = key;
  }

  /** Makes room for `n` more bytes. */
  reserve(n) {
    if (this.size + n <= this.buffer.length) return;
    const buffer = new Uint8Array(Math.max(2 * this.buffer.length, this.size + n));
    buffer.set(this.buffer.subarray(0, this.size));
    this.buffer = buffer;
    this.view = new DataView(buffer.buffer);
  }

  /** A node without payload (nil, false, true). */
  tag(tag) {
    this.reserve(1);
    this.buffer[this.size++] = tag;
  }

  /** A node with a 32-bit payload: a container's count. */
  counted(tag, count) {
    this.reserve(5);
    this.buffer[this.size] = tag;
    this.view.setUint32(this.size + 1, count, true);
    this.size += 5;
  }

  integer(value) {
    this.reserve(9);
    this.buffer[this.size] = INTEGER;
    if (typeof value === 'number' && Number.isSafeInteger(value)) {
      const high = Math.floor(value / 2 ** 32);
      this.view.setUint32(this.size + 1, value - high * 2 ** 32, true);
      this.view.setInt32(this.size + 5, high, true);
    } else {
      this.view.setBigInt64(this.size + 1, BigInt(value), true);
    }
    this.size += 9;
  }

  float(value) {
    this.reserve(9);
    this.buffer[this.size] = FLOAT;
    this.view.setFloat64(this.size + 1, value, true);
    this.size += 9;
  }

  /** A node whose payload is bytes: a string, or a bigint's digits. */
  bytes(data, tag = STRING) {
    this.counted(tag, data.length);
    this.reserve(data.length);
    this.buffer.set(data, this.size);
    this.size += data.length;
  }

  /** A string, encoded as UTF-8 straight into the buffer. */
  text(text) {
    const length = text.length;
    // UTF-8 takes at most three bytes per UTF-16 code unit.
    this.reserve(5 + 3 * length);
    const start = this.size + 5;
    let written = 0;
    if (length <= SHORT_TEXT) {
      const buffer = this.buffer;
      for (let code; written < length && (code = text.charCodeAt(written)) < 0x80; written++) buffer[start + written] = code;
    }
    if (written < length) written = encoder.encodeInto(text, this.buffer.subarray(start)).written;
    this.buffer[this.size] = STRING;
    this.view.setUint32(this.size + 1, written, true);
    this.size = start + written;
  }

  /** A table key, at `depth` (where the trail has it). */
  key(key, depth) {
    if (typeof key === 'string') return this.text(key);
    if (typeof key === 'boolean') return this.tag(key ? TRUE : FALSE);
    if (typeof key === 'number' && Number.isNaN(key)) throw new ConversionError(this.path(depth), 'has a NaN key');
    if (typeof key === 'number' || typeof key === 'bigint') return this.value(key, depth);
    throw new ConversionError(this.path(depth), `has a key of type ${typeof key}: keys are strings, numbers or booleans`);
  }

  value(value, depth) {
    if (depth > MAX_DEPTH) throw new ConversionError(this.path(depth), `is nested deeper than ${MAX_DEPTH} levels`);
    switch (typeof value) {
      case 'undefined':
        return this.tag(NIL);
      case 'boolean':
        return this.tag(value ? TRUE : FALSE);
      case 'number':
        // An integral number (not -0) is a Lua integer when it fits; JS cannot tell 1 from 1.0.
        if (Number.isInteger(value) && !Object.is(value, -0) && Math.abs(value) < 2 ** 63) {
          return this.integer(value);
        }
        return this.float(value);
      case 'bigint':
        // Past 64 bits, a Lua bigint (require('bigint')), carried as its decimal digits.
        if (value > MAX_INTEGER || value < MIN_INTEGER) return this.bytes(encoder.encode(value.toString()), BIGINT);
        return this.integer(value);
      case 'string':
        return this.text(value);
      case 'object':
        return this.object(value, depth);
      default:
        throw new ConversionError(this.path(depth), `is a ${typeof value}, which Lua values cannot hold`);
    }
  }

  object(value, depth) {
    if (value === null) return this.tag(NIL);
    if (value instanceof Float) return this.float(value.value);
    if (ArrayBuffer.isView(value)) {
      return this.bytes(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    }
    if (value instanceof ArrayBuffer) return this.bytes(new Uint8Array(value));
    if (this.seen.has(value)) throw new ConversionError(this.path(depth), 'is part of a cycle');
    this.seen.add(value);
    if (Array.isArray(value)) {
      this.counted(ARRAY, value.length);
      // Holes and undefined elements are Lua's `null`, as JSON writes them.
      for (let i = 0; i < value.length; i++) {
        this.enter(depth, ELEMENT, i + 1);
        this.value(value[i] ?? null, depth + 1);
      }
    } else if (value instanceof Map) {
      this.counted(MAP, value.size);
      for (const [key, item] of value) this.field(key, item, depth);
    } else {
      // The count is written once the fields are: undefined and function fields are left out.
      const counted = this.size;
      this.counted(MAP, 0);
      let count = 0;
      for (const key of Object.keys(value)) {
        const item = value[key];
        if (item === undefined || typeof item === 'function') continue;
        this.field(key, item, depth);
        count++;
      }
      this.view.setUint32(counted + 1, count, true);
    }
    this.seen.delete(value);
  }

  /** One field of a table at `depth`. */
  field(key, item, depth) {
    this.enter(depth, FIELD, key);
    this.key(key, depth + 1);
    this.value(item ?? null, depth + 1);
  }

  finish() {
    return { nodes: this.buffer.subarray(0, this.size) };
  }
}

/**
 * A JavaScript value as the component's value; `path` names it in errors (`input.users[2]`).
 * Plain objects and Maps become Lua tables with keys, arrays become arrays, strings are UTF-8,
 * Uint8Arrays are strings of any bytes, integral numbers and bigints are integers (bigints past
 * 64 bits are Lua bigints), other numbers and `float(x)` are floats, null is Lua's `null` (nil
 * at the root).
 */
export function toWit(value, path) {
  const writer = new Writer(path);
  writer.value(value, 0);
  return writer.finish();
}

/** A number that goes to Lua as a float even when it is integral: `float(1)` is Lua's `1.0`. */
export class Float {
  constructor(value) {
    this.value = Number(value);
  }
}

/** Marks `value` to cross as a Lua float. */
export function float(value) {
  return new Float(value);
}

/** Reads packed nodes one after another: `next()` gives a node's tag and leaves its payload in `val`. */
class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.at = 0;
    this.val = undefined;
  }

  /** The position after the next `n` bytes, which must be there. */
  skip(n) {
    const at = this.at;
    if (at + n > this.bytes.length) throw new ConversionError('', 'the value ends inside a node');
    this.at = at + n;
    return at;
  }

  next() {
    if (this.at >= this.bytes.length) throw new ConversionError('', 'the value ended inside a container');
    const tag = this.bytes[this.at++];
    switch (tag) {
      case NIL:
        break;
      case FALSE:
      case TRUE:
        this.val = tag === TRUE;
        break;
      case INTEGER: {
        const at = this.skip(8);
        // Safe integers come as numbers, larger ones as bigints.
        const n = this.view.getInt32(at + 4, true) * 2 ** 32 + this.view.getUint32(at, true);
        this.val = Number.isSafeInteger(n) ? n : this.view.getBigInt64(at, true);
        break;
      }
      case FLOAT:
        this.val = this.view.getFloat64(this.skip(8), true);
        break;
      case STRING:
      case BIGINT: {
        const len = this.view.getUint32(this.skip(4), true);
        const at = this.skip(len);
        this.val = this.bytes.subarray(at, at + len);
        break;
      }
      case ARRAY:
      case MAP:
        this.val = this.view.getUint32(this.skip(4), true);
        break;
      default:
        throw new ConversionError('', `the value holds an unknown node tag ${tag}`);
    }
    return tag;
  }
}

/** Reads one tree; `inside` is whether it is inside a container. */
function read(reader, inside) {
  const tag = reader.next();
  const val = reader.val;
  switch (tag) {
    case NIL:
      return inside ? null : undefined;
    case FALSE:
    case TRUE:
    case INTEGER:
    case FLOAT:
      return val;
    case STRING:
      return utf8Text(val) ?? val.slice();
    case BIGINT:
      return BigInt(decoder.decode(val));
    case ARRAY: {
      const items = new Array(val);
      for (let i = 0; i < val; i++) items[i] = read(reader, true);
      return items;
    }
    default: {
      const keys = new Array(val);
      const items = new Array(val);
      let plain = true;
      for (let i = 0; i < val; i++) {
        keys[i] = read(reader, true);
        items[i] = read(reader, true);
        plain &&= typeof keys[i] === 'string' && keys[i] !== '__proto__';
      }
      // Only string keys make a plain object; other keys keep their types in a Map.
      if (!plain) return new Map(keys.map((key, i) => [key, items[i]]));
      const object = {};
      for (let i = 0; i < val; i++) object[keys[i]] = items[i];
      return object;
    }
  }
}

/** `bytes` as a string when they are UTF-8; undefined when they are not. */
function utf8Text(bytes) {
  if (bytes.length <= SHORT_TEXT) {
    let i = 0;
    while (i < bytes.length && bytes[i] < 0x80) i++;
    if (i === bytes.length) return String.fromCharCode.apply(null, bytes);
  }
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The component's value as JavaScript: nil is undefined (null inside a table), integers are
 * numbers when they are safe integers and bigints otherwise, Lua bigints are bigints, strings are JS strings when they are
 * UTF-8 and Uint8Arrays otherwise, arrays are arrays, and maps are plain objects when every key is
 * a string and Maps otherwise.
 */
export function fromWit(value) {
  const reader = new Reader(value.nodes);
  const result = read(reader, false);
  if (reader.at !== value.nodes.length) throw new ConversionError('', 'the value holds more than one tree');
  return result;
}

const KEYWORDS = new Set(
  'and break do else elseif end false for function goto if in local nil not or repeat return then true until while'.split(
    ' ',
  ),
);

/** Lua's text form of a float, as the Rust host writes it (Rust's shortest round-trip form). */
function floatText(x) {
  if (Number.isNaN(x)) return '0/0';
  if (!Number.isFinite(x)) return x > 0 ? 'math.huge' : '-math.huge';
  const magnitude = Math.abs(x);
  if (x !== 0 && (magnitude < 1e-4 || magnitude >= 1e16)) {
    return x.toExponential().replace('e+', 'e');
  }
  const text = Object.is(x, -0) ? '-0' : magnitude >= 1e21 ? x.toFixed(0) : String(x);
  return text.includes('.') ? text : `${text}.0`;
}

/** The length of the valid UTF-8 sequence at `bytes[i]`, or 0 when there is none. */
function sequenceLength(bytes, i) {
  const lead = bytes[i];
  if (lead < 0x80) return 1;
  const n = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > bytes.length) return 0;
  for (let k = 1; k < n; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return 0;
  const second = bytes[i + 1];
  // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
  if ((lead === 0xe0 && second < 0xa0) || (lead === 0xed && second > 0x9f)) return 0;
  if ((lead === 0xf0 && second < 0x90) || (lead === 0xf4 && second > 0x8f)) return 0;
  return n;
}

const ESCAPES = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A Lua string literal for `bytes`, as the Rust host writes it: UTF-8 characters as they are,
 * quotes, backslashes and line breaks escaped, other control characters and bytes that are not
 * UTF-8 as three-digit `\ddd`.
 */
function stringText(bytes) {
  let out = '"';
  for (let i = 0; i < bytes.length; ) {
    const n = sequenceLength(bytes, i);
    if (n === 0) {
      out += `\\${String(bytes[i]).padStart(3, '0')}`;
      i += 1;
      continue;
    }
    const c = decoder.decode(bytes.subarray(i, i + n));
    const code = c.codePointAt(0);
    out += ESCAPES[c] ?? (code < 0x20 || code === 0x7f ? `\\${String(code).padStart(3, '0')}` : c);
    i += n;
  }
  return `${out}"`;
}

function textOf(reader, inside) {
  const tag = reader.next();
  const val = reader.val;
  switch (tag) {
    case NIL:
      return inside ? 'null' : 'nil';
    case FALSE:
    case TRUE:
    case INTEGER:
      return String(val);
    case FLOAT:
      return floatText(val);
    case STRING:
      return stringText(val);
    case BIGINT:
      return `bigint.new("${decoder.decode(val)}")`;
    case ARRAY: {
      const items = [];
      for (let i = 0; i < val; i++) items.push(textOf(reader, true));
      return `{${items.join(', ')}}`;
    }
    default: {
      const entries = [];
      for (let i = 0; i < val; i++) {
        let shown;
        if (reader.bytes[reader.at] === STRING) {
          reader.next();
          const name = decoder.decode(reader.val);
          shown = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !KEYWORDS.has(name) ? name : `[${stringText(reader.val)}]`;
        } else {
          shown = `[${textOf(reader, true)}]`;
        }
        entries.push(`${shown} = ${textOf(reader, true)}`);
      }
      return `{${entries.join(', ')}}`;
    }
  }
}

/** The Lua-like text of a component value, exactly as the Rust host and the CLI show it. */
export function luaText(value) {
  return textOf(new Reader(value.nodes), false);
}
