// Every query operator against a brute-force reference, on random records, through the JS API:
// run in Node (memory and SQLite stores) and in Chromium (IndexedDB). The same checks as
// host-rust/tests/indexes.rs, with the values JavaScript can hold exactly.

/** A small deterministic generator (xorshift32), so a failing case can be run again. */
function generator(seed) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  return { below: (n) => next() % n, pick: (items) => items[next() % items.length] };
}

const WORDS = ['', 'a', 'ab', 'abc', 'b', 'Äpfel', 'ápple', 'zebra', '日本', '日本語', 'a\u0000b', '%d', 'x.y', '😀', 'ｚ'];
const OPERATORS = ['=', '!=', '<', '<=', '>', '>=', 'between', 'startsWith', 'endsWith', 'contains'];

/** A field value of every kind a field can hold, with many ties; `undefined` leaves it out. */
function scalar(random) {
  switch (random.below(9)) {
    case 0: return undefined;
    case 1: return null;
    case 2: return random.below(2) === 0;
    case 3: case 4: return random.below(21) - 10;
    case 5: return (random.below(41) - 20) / 4;
    case 6: return random.pick([Infinity, -Infinity, 0.5, 2 ** 40, -(2 ** 40)]);
    default: return random.pick(WORDS);
  }
}

/** A record with an `id`, a `v` field and a nested `n.v`, either one sometimes missing or a table. */
function record(random, id) {
  const out = { id };
  const v = random.below(20) === 0 ? { w: 1 } : scalar(random);
  if (v !== undefined) out.v = v;
  const n = random.below(6);
  if (n === 1) out.n = 'not a table';
  if (n > 1) {
    const inner = scalar(random);
    out.n = inner === undefined ? {} : { v: inner };
  }
  return out;
}

const utf8 = new TextEncoder();

function compareBytes(a, b) {
  const [x, y] = [utf8.encode(a), utf8.encode(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

/** The documented order's classes: null < booleans < numbers < strings; undefined outside it. */
function classOf(value) {
  if (value === null) return 0;
  if (typeof value === 'boolean') return 1;
  if (typeof value === 'number' && !Number.isNaN(value)) return 2;
  if (typeof value === 'string') return 3;
  return undefined;
}

function order(a, b) {
  const [ca, cb] = [classOf(a) ?? 9, classOf(b) ?? 9];
  if (ca !== cb) return ca - cb;
  if (ca === 3) return compareBytes(a, b);
  if (ca === 0 || a === b) return 0;
  return a < b ? -1 : 1;
}

function field(value, path) {
  let current = value;
  for (const step of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, step)) return undefined;
    current = current[step];
  }
  return classOf(current) === undefined ? undefined : current;
}

/** Whether `value` passes `operator` with `operand`, as docs/HOME.md has it. */
function passes(value, operator, operand) {
  const same = classOf(value) === classOf(operand);
  const ordered = classOf(operand) === 2 || classOf(operand) === 3;
  const text = typeof value === 'string' && typeof operand === 'string';
  switch (operator) {
    case '=': return same && order(value, operand) === 0;
    case '!=': return !(same && order(value, operand) === 0);
    case '<': return ordered && same && order(value, operand) < 0;
    case '<=': return ordered && same && order(value, operand) <= 0;
    case '>': return ordered && same && order(value, operand) > 0;
    case '>=': return ordered && same && order(value, operand) >= 0;
    case 'between': return passes(value, '>=', operand[0]) && passes(value, '<=', operand[1]);
    case 'startsWith': return text && value.startsWith(operand);
    case 'endsWith': return text && value.endsWith(operand);
    case 'contains': return text && value.includes(operand);
    default: throw new Error(operator);
  }
}

function randomCondition(random) {
  const path = random.below(3) === 0 ? ['n', 'v'] : ['v'];
  const operator = random.pick(OPERATORS);
  const word = () => random.pick(WORDS);
  const number = () => {
    const value = scalar(random);
    return typeof value === 'number' ? value : random.below(11) - 5;
  };
  let operand;
  if (['startsWith', 'endsWith', 'contains'].includes(operator)) operand = word();
  else if (operator === 'between') operand = random.below(2) === 0 ? [number(), number()] : [word(), word()];
  else if (['<', '<=', '>', '>='].includes(operator)) operand = random.below(3) === 0 ? word() : number();
  else {
    operand = scalar(random);
    if (operand === undefined) operand = null;
  }
  return { path, operator, operand };
}

/** A value as text with its objects' keys in one order (a record comes back with its own). */
function canonical(value) {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(',')}}`;
}

/** The keys a query must return, in order. */
function reference(records, conditions, descending, limit) {
  const hits = records
    .filter(([, value]) => conditions.every((c) => {
      const found = field(value, c.path);
      return found !== undefined && passes(found, c.operator, c.operand);
    }))
    .map(([key, value]) => [field(value, conditions[0].path), key]);
  hits.sort((a, b) => order(a[0], b[0]) || compareBytes(a[1], b[1]));
  if (descending) hits.reverse();
  return hits.slice(0, limit).map(([, key]) => key);
}

/**
 * Fills `recs` on `cu` (a loaded `Cu`) with random records, then runs random queries without an
 * index and with indexes on `v` and `n.v`, each against the reference. Returns the mismatches
 * (none when all is well) and how many queries ran.
 */
export async function checkQueries(cu, { seed = 7, records: count = 120, rounds = 120 } = {}) {
  const random = generator(seed);
  const records = Array.from({ length: count }, (_, i) => [`r${String(i).padStart(3, '0')}`, record(random, i)]);
  await cu.batchTableOperations(records.map(([key, value]) => ({ type: 'set', table: 'recs', key, value })));
  const byKey = new Map(records);
  const mismatches = [];
  let ran = 0;
  const check = async (indexed) => {
    for (let round = 0; round < rounds; round++) {
      const conditions = Array.from({ length: 1 + random.below(2) }, () => randomCondition(random));
      const descending = random.below(2) === 0;
      const limit = random.pick([1, 3, 10, 100, 1000]);
      const query = {
        where: conditions.map((c) => ({ field: c.path.join('.'), operator: c.operator, value: c.operand })),
        sort: descending ? 'desc' : 'asc',
        limit,
      };
      const hits = await cu.queryTable('recs', query);
      ran++;
      const found = hits.map((hit) => hit.key);
      const expected = reference(records, conditions, descending, limit);
      const wrongValue = hits.find((hit) => canonical(hit.value) !== canonical(byKey.get(hit.key)));
      if (JSON.stringify(found) !== JSON.stringify(expected) || wrongValue) {
        mismatches.push({ indexed, query: JSON.stringify(query), found, expected, wrongValue });
      }
    }
  };
  await check(false);
  await cu.createIndex('recs', 'v', 'btree');
  await cu.createIndex('recs', 'n.v', 'hash');
  await check(true);
  return { ran, mismatches, problems: await cu.checkIndexes() };
}
