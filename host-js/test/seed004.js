// Seed 004's examples (../shared/seeds/004: Quick Start, Batch Operations, Advanced Querying, Data
// Analysis, Security) as written, on the `LuaWASM` a test passes in; each section returns what
// the seed logs. The Node test and the browser test (IndexedDB) both run these.

export async function quickStartCdn(LuaWASM) {
  const logged = {};
  await LuaWASM.init().then(async (lua) => {
    // Basic evaluation
    const result = lua.eval('return 2 + 2');
    logged.result = result; // 4

    // Persist functions across sessions
    await lua.persistFunction('Memory', 'fibonacci', `
                function(n)
                    if n <= 1 then return n end
                    return fibonacci(n - 1) + fibonacci(n - 2)
                end
            `);

    // Use persisted function after page reload
    const fibResult = lua.eval('return Memory.fibonacci(10)');
    logged.fibResult = fibResult; // 55
  });
  return logged;
}

export async function quickStartNpm(LuaWASM) {
  const lua = await LuaWASM.init();

  // Basic usage
  const result = lua.eval('return "Hello from enhanced Lua!"');

  // Advanced batch operations
  const operations = [
    { type: 'set', table: 'users', key: 'user1', value: { name: 'Alice', age: 30 } },
    { type: 'set', table: 'users', key: 'user2', value: { name: 'Bob', age: 25 } },
  ];

  const results = await lua.batchTableOperations(operations);
  return { lua, result, results };
}

export async function batchOperations(lua) {
  // High-performance bulk operations
  const users = Array.from({ length: 1000 }, (_, i) => ({
    id: i,
    name: `User ${i}`,
    email: `user${i}@example.com`,
    score: Math.floor(Math.random() * 1000),
    created: new Date().toISOString(),
  }));

  // Batch insert 1000 users
  const operations = users.map((user) => ({
    type: 'set',
    table: 'appUsers',
    key: `user_${user.id}`,
    value: user,
  }));

  const results = await lua.batchTableOperations(operations);

  // Batch update scores
  const updateOps = users.slice(0, 100).map((user) => ({
    type: 'set',
    table: 'appUsers',
    key: `user_${user.id}`,
    value: { ...user, score: user.score + 100 },
  }));

  await lua.batchTableOperations(updateOps);
  return { users, results };
}

export async function advancedQuerying(lua) {
  // Create index for efficient querying
  await lua.createIndex('Memory', 'appUsers.score', 'btree');

  // Complex queries with indexing
  const highScorers = await lua.queryTable('Memory', {
    table: 'appUsers',
    field: 'score',
    operator: '>=',
    value: 800,
    limit: 10,
    sort: 'desc',
  });

  // Range queries
  const midRangeUsers = await lua.queryTable('Memory', {
    table: 'appUsers',
    field: 'score',
    operator: 'between',
    value: [400, 600],
    limit: 20,
  });

  // String queries
  const recentUsers = await lua.queryTable('Memory', {
    table: 'appUsers',
    field: 'created',
    operator: 'startsWith',
    value: '2024-01',
    limit: 50,
  });
  return { highScorers, midRangeUsers, recentUsers };
}

export async function dataAnalysis(lua) {
  // Store analytical functions
  await lua.persistFunction('Memory', 'analytics', `
    {
        average = function(values)
            local sum = 0
            for _, v in ipairs(values) do sum = sum + v end
            return sum / #values
        end,
        
        median = function(values)
            table.sort(values)
            local n = #values
            if n % 2 == 0 then
                return (values[n/2] + values[n/2 + 1]) / 2
            else
                return values[(n + 1) / 2]
            end
        end,
        
        correlation = function(x, y)
            -- Statistical correlation calculation
            local n = #x
            local sum_x, sum_y, sum_xy, sum_x2, sum_y2 = 0, 0, 0, 0, 0
            
            for i = 1, n do
                sum_x = sum_x + x[i]
                sum_y = sum_y + y[i]
                sum_xy = sum_xy + x[i] * y[i]
                sum_x2 = sum_x2 + x[i]^2
                sum_y2 = sum_y2 + y[i]^2
            end
            
            local numerator = n * sum_xy - sum_x * sum_y
            local denominator = math.sqrt((n * sum_x2 - sum_x^2) * (n * sum_y2 - sum_y^2))
            
            return denominator == 0 and 0 or numerator / denominator
        end
    }
`);

  // Use analytical functions
  const analysis = lua.eval(`
    local scores = {}
    for i = 1, 100 do
        scores[i] = math.random(100, 1000)
    end
    
    return {
        average = Memory.analytics.average(scores),
        median = Memory.analytics.median(scores),
        min = math.min(unpack(scores)),
        max = math.max(unpack(scores))
    }
`);
  return { analysis };
}

export async function security(lua, userCode) {
  // Validate function code before persistence
  const validation = await lua.validateFunction(userCode);
  if (!validation.isValid) {
    throw new Error(`Invalid function: ${validation.error}`);
  }

  // Use schema validation for data integrity
  await lua.setSchema('users', {
    name: { type: 'string', required: true },
    age: { type: 'number', min: 0, max: 150 },
    email: { type: 'string', pattern: /^[^\s@]+@[^\s@]+\.[^\s@]+$/ },
  });

  // Enable audit logging for sensitive operations
  lua.enableAuditLog(['persistFunction', 'batchTableOperations']);
  return { validation };
}

/** Every section in order, as one program would run them; returns what each logged. */
export async function runSeed004(LuaWASM) {
  const cdn = await quickStartCdn(LuaWASM);
  const { lua, result, results } = await quickStartNpm(LuaWASM);
  const batch = await batchOperations(lua);
  const queries = await advancedQuerying(lua);
  const { analysis } = await dataAnalysis(lua);
  const { validation } = await security(lua, 'function(x) return x * 2 end');
  const invalid = await security(lua, 'function(income, deductions = 0) return income end').catch((e) => e.message);
  // After the seed's Security section: a breaking record and the audit log.
  const refused = await lua.batchTableOperations([{ type: 'set', table: 'users', key: 'x', value: { name: 'X', age: 200 } }])
    .catch((e) => ({ name: e.name, path: e.path, rule: e.rule, message: e.message }));
  await lua.persistFunction('Memory', 'double', 'function(x) return 2 * x end');
  const month = new Date().toISOString().slice(0, 7);
  const thisMonth = await lua.queryTable('appUsers', { field: 'created', operator: 'startsWith', value: month, limit: 50 });
  const audit = lua.getAuditLog().map(({ operation, targets }) => ({ operation, targets }));
  return {
    cdn,
    npm: { result, results },
    scores: batch.users.map((u, i) => (i < 100 ? u.score + 100 : u.score)),
    queries,
    thisMonth: thisMonth.length,
    analysis,
    validation,
    invalid,
    refused,
    audit,
    indexes: lua.listIndexes(),
    consistent: lua.checkIndexes(),
  };
}

/** Checks what `runSeed004` returned, with `assert` (node:assert/strict). */
export function checkSeed004(seen, assert) {
  assert.deepEqual(seen.cdn, { result: 4, fibResult: 55 });
  assert.equal(seen.npm.result, 'Hello from enhanced Lua!');
  assert.equal(seen.npm.results.length, 2);
  // The queries against the same selection made here from the scores the batches wrote.
  const users = seen.scores.map((score, i) => ({ key: `user_${i}`, score }));
  const byScore = (a, b) => a.score - b.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const keysOf = (hits) => hits.map((hit) => hit.key);
  const top = users.filter((u) => u.score >= 800).sort(byScore).reverse().slice(0, 10);
  assert.deepEqual(keysOf(seen.queries.highScorers), keysOf(top));
  assert.deepEqual(seen.queries.highScorers.map((h) => h.value.score), top.map((u) => u.score));
  const middle = users.filter((u) => u.score >= 400 && u.score <= 600).sort(byScore).slice(0, 20);
  assert.deepEqual(keysOf(seen.queries.midRangeUsers), keysOf(middle));
  assert.deepEqual(seen.queries.recentUsers, [], 'no user was created in January 2024');
  assert.equal(seen.thisMonth, 50);
  const { average, median, min, max } = seen.analysis;
  assert.ok(min >= 100 && max <= 1000 && min <= median && median <= max && min <= average && average <= max, JSON.stringify(seen.analysis));
  assert.deepEqual(seen.validation, { isValid: true, error: undefined, line: undefined });
  assert.equal(seen.invalid, "Invalid function: code:1: ')' expected near '='");
  assert.deepEqual(
    { name: seen.refused.name, path: seen.refused.path, rule: seen.refused.rule },
    { name: 'SchemaError', path: '_home.users.x.age', rule: 'max' },
  );
  assert.deepEqual(seen.audit, [
    { operation: 'enableAuditLog', targets: ['persistFunction', 'batchTableOperations'] },
    { operation: 'persistFunction', targets: ['_home.double'] },
  ]);
  assert.deepEqual(seen.indexes, [{ table: 'appUsers', field: 'score', type: 'btree' }]);
  assert.deepEqual(seen.consistent, []);
}
