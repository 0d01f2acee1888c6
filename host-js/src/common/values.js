// Values between JavaScript and the component's `cu:unit/types.value`: a node list in preorder
// plus one buffer with every string's bytes (wit/types.wit). The mapping is in docs/VALUES.md,
// "JavaScript".

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

/** Grows as nodes are added; `bytes` collects string contents in node order. */
class Writer {
  constructor() {
    this.nodes = [];
    this.chunks = [];
    this.size = 0;
    this.seen = new Set();
  }

  /** A node whose contents are bytes of the value's buffer: a string, or a bigint's digits. */
  bytes(data, tag = 'bytes') {
    this.nodes.push({ tag, val: data.length });
    this.chunks.push(data);
    this.size += data.length;
  }

  key(key, path) {
    if (typeof key === 'string') return this.bytes(encoder.encode(key));
    if (typeof key === 'boolean') return this.nodes.push({ tag: 'boolean', val: key });
    if (typeof key === 'number' && Number.isNaN(key)) throw new ConversionError(path, 'has a NaN key');
    if (typeof key === 'number' || typeof key === 'bigint') return this.value(key, path, 0);
    throw new ConversionError(path, `has a key of type ${typeof key}: keys are strings, numbers or booleans`);
  }

  value(value, path, depth) {
    if (depth > MAX_DEPTH) throw new ConversionError(path, `is nested deeper than ${MAX_DEPTH} levels`);
    switch (typeof value) {
      case 'undefined':
        return this.nodes.push({ tag: 'nil' });
      case 'boolean':
        return this.nodes.push({ tag: 'boolean', val: value });
      case 'number':
        // An integral number (not -0) is a Lua integer when it fits; JS cannot tell 1 from 1.0.
        if (Number.isInteger(value) && !Object.is(value, -0) && Math.abs(value) < 2 ** 63) {
          return this.nodes.push({ tag: 'integer', val: BigInt(value) });
        }
        return this.nodes.push({ tag: 'float', val: value });
      case 'bigint':
        // Past 64 bits, a Lua bigint (require('bigint')), carried as its decimal digits.
        if (value > MAX_INTEGER || value < MIN_INTEGER) return this.bytes(encoder.encode(value.toString()), 'bigint');
        return this.nodes.push({ tag: 'integer', val: value });
      case 'string':
        return this.bytes(encoder.encode(value));
      case 'object':
        return this.object(value, path, depth);
      default:
        throw new ConversionError(path, `is a ${typeof value}, which Lua values cannot hold`);
    }
  }

  object(value, path, depth) {
    if (value === null) return this.nodes.push({ tag: 'nil' });
    if (value instanceof Float) return this.nodes.push({ tag: 'float', val: value.value });
    if (ArrayBuffer.isView(value)) {
      return this.bytes(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    }
    if (value instanceof ArrayBuffer) return this.bytes(new Uint8Array(value));
    if (this.seen.has(value)) throw new ConversionError(path, 'is part of a cycle');
    this.seen.add(value);
    if (Array.isArray(value)) {
      this.nodes.push({ tag: 'array', val: value.length });
      // Holes and undefined elements are Lua's `null`, as JSON writes them.
      for (let i = 0; i < value.length; i++) this.value(value[i] ?? null, `${path}[${i + 1}]`, depth + 1);
    } else {
      const entries =
        value instanceof Map
          ? [...value.entries()]
          : Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== 'function');
      this.nodes.push({ tag: 'map', val: entries.length });
      for (const [key, item] of entries) {
        const at = path + segment(key);
        this.key(key, at);
        this.value(item ?? null, at, depth + 1);
      }
    }
    this.seen.delete(value);
  }

  finish() {
    const bytes = new Uint8Array(this.size);
    let at = 0;
    for (const chunk of this.chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    return { nodes: this.nodes, bytes };
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
  const writer = new Writer();
  writer.value(value, path, 0);
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

/** Reads one tree from `nodes` at `reader.at`; `inside` is whether it is inside a container. */
function read(value, reader, inside) {
  const node = value.nodes[reader.at++];
  if (node === undefined) throw new ConversionError('', 'the node list ended inside a container');
  switch (node.tag) {
    case 'nil':
      return inside ? null : undefined;
    case 'boolean':
      return node.val;
    case 'integer':
      return node.val >= -Number.MAX_SAFE_INTEGER && node.val <= Number.MAX_SAFE_INTEGER ? Number(node.val) : node.val;
    case 'float':
      return node.val;
    case 'bytes': {
      const bytes = value.bytes.subarray(reader.bytes, reader.bytes + node.val);
      reader.bytes += node.val;
      try {
        return strictDecoder.decode(bytes);
      } catch {
        return bytes.slice();
      }
    }
    case 'bigint': {
      const digits = value.bytes.subarray(reader.bytes, reader.bytes + node.val);
      reader.bytes += node.val;
      return BigInt(decoder.decode(digits));
    }
    case 'array': {
      const items = new Array(node.val);
      for (let i = 0; i < node.val; i++) items[i] = read(value, reader, true);
      return items;
    }
    case 'map': {
      const entries = [];
      for (let i = 0; i < node.val; i++) entries.push([read(value, reader, true), read(value, reader, true)]);
      // Only string keys make a plain object; other keys keep their types in a Map.
      if (entries.every(([key]) => typeof key === 'string' && key !== '__proto__')) return Object.fromEntries(entries);
      return new Map(entries);
    }
    default:
      throw new ConversionError('', `the node list holds an unknown node '${node.tag}'`);
  }
}

/**
 * The component's value as JavaScript: nil is undefined (null inside a table), integers are
 * numbers when they are safe integers and bigints otherwise, Lua bigints are bigints, strings are JS strings when they are
 * UTF-8 and Uint8Arrays otherwise, arrays are arrays, and maps are plain objects when every key is
 * a string and Maps otherwise.
 */
export function fromWit(value) {
  const reader = { at: 0, bytes: 0 };
  const result = read(value, reader, false);
  if (reader.at !== value.nodes.length) throw new ConversionError('', 'the node list holds more than one value');
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

function textOf(value, reader, inside) {
  const node = value.nodes[reader.at++];
  switch (node.tag) {
    case 'nil':
      return inside ? 'null' : 'nil';
    case 'boolean':
      return String(node.val);
    case 'integer':
      return String(node.val);
    case 'float':
      return floatText(node.val);
    case 'bytes': {
      const bytes = value.bytes.subarray(reader.bytes, reader.bytes + node.val);
      reader.bytes += node.val;
      return stringText(bytes);
    }
    case 'bigint': {
      const digits = decoder.decode(value.bytes.subarray(reader.bytes, reader.bytes + node.val));
      reader.bytes += node.val;
      return `bigint.new("${digits}")`;
    }
    case 'array': {
      const items = [];
      for (let i = 0; i < node.val; i++) items.push(textOf(value, reader, true));
      return `{${items.join(', ')}}`;
    }
    default: {
      const entries = [];
      for (let i = 0; i < node.val; i++) {
        const keyNode = value.nodes[reader.at];
        const start = reader.bytes;
        const key = textOf(value, reader, true);
        const name = keyNode.tag === 'bytes' ? decoder.decode(value.bytes.subarray(start, reader.bytes)) : null;
        const shown = name !== null && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !KEYWORDS.has(name) ? name : `[${key}]`;
        entries.push(`${shown} = ${textOf(value, reader, true)}`);
      }
      return `{${entries.join(', ')}}`;
    }
  }
}

/** The Lua-like text of a component value, exactly as the Rust host and the CLI show it. */
export function luaText(value) {
  return textOf(value, { at: 0, bytes: 0 }, false);
}
