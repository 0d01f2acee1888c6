// The errors of cu's JavaScript API: one class per kind of the component's `types.error`
// (wit/types.wit), all subclasses of CuError, so `catch (e) { if (e instanceof LimitError) ... }`.

/** Every error cu raises. `kind` names the kind: syntax, runtime, limit, conversion, store, schema, reset. */
export class CuError extends Error {
  constructor(message, kind, options) {
    super(message, options);
    this.name = new.target.name;
    this.kind = kind;
  }
}

/** The Lua code did not compile. */
export class LuaSyntaxError extends CuError {
  constructor({ message, line, incomplete }) {
    super(`syntax error: ${message}`, 'syntax');
    /** The line the compiler stopped at, when known. */
    this.line = line;
    /** Whether the code ended early, so that more input could complete it. */
    this.incomplete = incomplete;
  }
}

/** Lua code raised an error and did not catch it. */
export class LuaRuntimeError extends CuError {
  constructor({ message, traceback, value, valueText }) {
    super(message, 'runtime');
    /** Lua's stack traceback where the error was raised. */
    this.traceback = traceback;
    /** The error object itself when it was not a string (`error({code = 42})`), as JavaScript. */
    this.value = value;
    /** The same error object as Lua-like text (`{code = 42}`). */
    this.valueText = valueText;
  }
}

/** A time, memory or instruction limit stopped the call. The unit stays usable. */
export class LimitError extends CuError {
  constructor({ kind, message }) {
    super(message, 'limit');
    /** `'time'`, `'memory'` or `'instructions'`. */
    this.limit = kind;
  }
}

/** A value could not cross between JavaScript and Lua: a function, a cycle, too deep a nesting. */
export class ConversionError extends CuError {
  constructor(path, reason) {
    super(`${path || 'the value'} ${reason}`, 'conversion');
    /** Where the value sits, e.g. `[2].cb` or `input.users[3]`. */
    this.path = path;
    /** Why it cannot cross. */
    this.reason = reason;
  }
}

/** The store did not take the call's writes to `_home`; nothing of the call was written. */
export class StoreError extends CuError {
  constructor({ kind, message }) {
    super(message, 'store');
    /** `'conflict'` (another writer changed data the call read: run it again), `'too-large'` or `'unavailable'`. */
    this.store = kind;
  }
}

/** A call left a record that breaks its table's schema; nothing of the call was written. */
export class SchemaError extends CuError {
  constructor({ path, rule, message }) {
    super(message, 'schema');
    /** The record or field at fault, e.g. `_home.users.bob.age`. */
    this.path = path;
    /** The rule it breaks: `type`, `required`, `min`, `max`, `pattern`, or `record`. */
    this.rule = rule;
  }
}

/**
 * The component stopped (a WebAssembly trap) and the unit was started afresh: its globals and
 * `_io` are gone, `_home` is intact in its store.
 */
export class ResetError extends CuError {
  constructor(cause) {
    super(`the unit stopped (${cause?.message ?? cause}) and was reset: its globals are gone, _home is intact`, 'reset', {
      cause,
    });
  }
}

/** A batch of `processStream` failed; `cause` is why. Earlier batches' outputs are in `outputs`. */
export class BatchError extends CuError {
  constructor({ batch, first, last, outputs, cause }) {
    super(`batch ${batch} (items ${first} to ${last}): ${cause.message}`, cause.kind ?? 'runtime', { cause });
    /** The failing batch, from 1. */
    this.batch = batch;
    /** Its first and last items, from 1. */
    this.first = first;
    this.last = last;
    /** The outputs of the batches before it. */
    this.outputs = outputs;
  }
}

/**
 * The CuError for the component's `types.error` variant; `decode` and `text` turn an error object
 * into JavaScript and into Lua-like text.
 */
export function fromWitError(error, decode, text) {
  const { tag, val } = error;
  switch (tag) {
    case 'syntax':
      return new LuaSyntaxError(val);
    case 'runtime':
      return new LuaRuntimeError({
        ...val,
        value: val.value === undefined ? undefined : decode(val.value),
        valueText: val.value === undefined ? undefined : text(val.value),
      });
    case 'limit':
      return new LimitError(val);
    case 'conversion':
      return new ConversionError(val.path, val.reason);
    case 'store':
      return new StoreError(val);
    case 'schema':
      return new SchemaError(val);
    default:
      return new CuError(`unknown error from the component: ${tag}`, tag);
  }
}
