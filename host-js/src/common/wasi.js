// The WASI imports of the component, the same in browsers and Node. The guest uses only the
// clocks (its deadline reads the monotonic clock), random seeds, and standard output and error;
// everything else it imports is present but grants nothing: no environment, no arguments, no
// files, no input. (jco's preview2-shim would hand the guest the process's environment and
// arguments and start a worker thread for standard output, so cu supplies its own.)

class Pollable {
  ready() {
    return true;
  }

  block() {}
}

/** A clock pollable: the guest waits on one between attempts of a call that met a conflict. */
class Wait extends Pollable {
  constructor(nanoseconds) {
    super();
    this.until = performance.now() + Math.max(0, Number(nanoseconds) / 1e6);
  }

  ready() {
    return performance.now() >= this.until;
  }

  block() {
    const ms = this.until - performance.now();
    if (ms <= 0 || sleeper === undefined) return;
    try {
      Atomics.wait(sleeper, 0, 0, ms);
    } catch {
      // A browser's main thread may not block: the attempt follows at once.
    }
  }
}

/** What `Atomics.wait` sleeps on; pages that are not cross-origin isolated have no SharedArrayBuffer. */
const sleeper = typeof SharedArrayBuffer === 'function' ? new Int32Array(new SharedArrayBuffer(4)) : undefined;

/** `wasi:io/poll`'s poll: waits for the soonest clock when nothing is ready yet. */
function poll(list) {
  if (list.length > 0 && !list.some((p) => p.ready())) {
    list.reduce((soonest, p) => (p.until < soonest.until ? p : soonest)).block();
  }
  return new Uint32Array(list.flatMap((p, i) => (p.ready() ? [i] : [])));
}

class InputStream {
  read() {
    throw { tag: 'closed' };
  }

  blockingRead() {
    throw { tag: 'closed' };
  }

  subscribe() {
    return new Pollable();
  }
}

/** A stream that hands every write to `sink(bytes)`. */
class OutputStream {
  constructor(sink) {
    this.sink = sink;
  }

  checkWrite() {
    return 1n << 20n;
  }

  write(bytes) {
    this.sink(bytes);
  }

  blockingWriteAndFlush(bytes) {
    this.sink(bytes);
  }

  flush() {}

  blockingFlush() {}

  subscribe() {
    return new Pollable();
  }
}

class Unavailable {
  constructor() {
    throw new Error('not available in the cu sandbox');
  }
}

// Node's (and Deno's and Bun's) own nanosecond clock where there is one: in Node the first use of
// `performance` loads perf_hooks, 0.7 ms of a cold start, and the guest reads the clock at start.
const monotonicNow =
  typeof globalThis.process?.hrtime?.bigint === 'function'
    ? () => process.hrtime.bigint()
    : () => BigInt(Math.round(performance.now() * 1e6));

/**
 * The import object for the component's WASI imports; `stdout(bytes)` and `stderr(bytes)`
 * receive what the guest writes to standard output and error.
 */
export function wasiImports({ stdout, stderr }) {
  const out = new OutputStream(stdout);
  const err = new OutputStream(stderr);
  return {
    'wasi:cli/environment': { getEnvironment: () => [], getArguments: () => [], initialCwd: () => undefined },
    'wasi:cli/exit': {
      exit: () => {
        throw new Error('the guest called exit');
      },
    },
    'wasi:cli/stderr': { getStderr: () => err },
    'wasi:cli/stdin': { getStdin: () => new InputStream() },
    'wasi:cli/stdout': { getStdout: () => out },
    'wasi:cli/terminal-input': { TerminalInput: Unavailable },
    'wasi:cli/terminal-output': { TerminalOutput: Unavailable },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:clocks/monotonic-clock': {
      now: monotonicNow,
      resolution: () => 1000n,
      subscribeInstant: (when) => new Wait(when - monotonicNow()),
      subscribeDuration: (duration) => new Wait(duration),
    },
    'wasi:clocks/wall-clock': {
      now: () => {
        const ms = Date.now();
        return { seconds: BigInt(Math.floor(ms / 1000)), nanoseconds: (ms % 1000) * 1e6 };
      },
      resolution: () => ({ seconds: 0n, nanoseconds: 1e6 }),
    },
    'wasi:filesystem/preopens': { getDirectories: () => [] },
    'wasi:filesystem/types': { Descriptor: Unavailable, filesystemErrorCode: () => undefined },
    'wasi:io/error': { Error: Unavailable },
    'wasi:io/poll': { Pollable, poll },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:random/insecure-seed': { insecureSeed: () => [insecureU64(), insecureU64()] },
    'wasi:random/random': { getRandomBytes: randomBytes, getRandomU64: randomU64 },
  };
}

function randomBytes(length) {
  const bytes = new Uint8Array(Number(length));
  // getRandomValues fills at most 65,536 bytes at a time.
  for (let at = 0; at < bytes.length; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
  return bytes;
}

/**
 * Seeds that WASI allows to be predictable (the guest's hash tables take them): Math.random, since
 * the first use of Web Crypto loads its whole module, a few milliseconds of every cold start in Node.
 */
function insecureU64() {
  return (BigInt(Math.floor(Math.random() * 2 ** 32)) << 32n) | BigInt(Math.floor(Math.random() * 2 ** 32));
}

function randomU64() {
  const [high, low] = crypto.getRandomValues(new Uint32Array(2));
  return (BigInt(high) << 32n) | BigInt(low);
}
