// Every JavaScript block of seed 004's README (../shared/seeds/004_322a69b459322e79.txt), in order and as written;
// test/node/seeds.test.js runs them as one page would, with only their import lines changed.

// --- block 1
import { LuaWASM } from 'lua-wasm-external-storage';

const lua = await LuaWASM.init();

// Basic usage
const result = lua.eval('return "Hello from enhanced Lua!"');
console.log(result); // "Hello from enhanced Lua!"

// Advanced batch operations
const operations = [
    { type: 'set', table: 'users', key: 'user1', value: { name: 'Alice', age: 30 } },
    { type: 'set', table: 'users', key: 'user2', value: { name: 'Bob', age: 25 } }
];

const results = await lua.batchTableOperations(operations);
console.log('Batch results:', results);

// --- block 2
// Define and persist complex functions
await lua.persistFunction('Memory', 'taxCalculator', `
    function(income, deductions = 0) 
        local taxable = income - deductions
        local brackets = {10000, 50000, 100000}
        local rates = {0.1, 0.2, 0.3, 0.4}
        -- Complex tax calculation logic
        return calculateTax(taxable, brackets, rates)
    end
`);

// Function with closures and upvalues
await lua.persistFunction('Memory', 'counterFactory', `
    function(initialValue)
        local count = initialValue or 0
        return function()
            count = count + 1
            return count
        end
    end
`);

// Use after page reload
const result = lua.eval(`
    local calc = Memory.taxCalculator
    local counter = Memory.counterFactory(100)
    return {
        tax = calc(75000, 5000),
        count1 = counter(),
        count2 = counter()
    }
`);

// --- block 3
// High-performance bulk operations
const users = Array.from({length: 1000}, (_, i) => ({
    id: i,
    name: `User ${i}`,
    email: `user${i}@example.com`,
    score: Math.floor(Math.random() * 1000),
    created: new Date().toISOString()
}));

// Batch insert 1000 users
const operations = users.map(user => ({
    type: 'set',
    table: 'appUsers',
    key: `user_${user.id}`,
    value: user
}));

console.time('Batch Insert');
const results = await lua.batchTableOperations(operations);
console.timeEnd('Batch Insert'); // ~50-100ms for 1000 operations

// Batch update scores
const updateOps = users.slice(0, 100).map(user => ({
    type: 'set', 
    table: 'appUsers',
    key: `user_${user.id}`,
    value: { ...user, score: user.score + 100 }
}));

await lua.batchTableOperations(updateOps);

// --- block 4
// Create index for efficient querying
await lua.createIndex('Memory', 'appUsers.score', 'btree');

// Complex queries with indexing
const highScorers = await lua.queryTable('Memory', {
    table: 'appUsers',
    field: 'score',
    operator: '>=',
    value: 800,
    limit: 10,
    sort: 'desc'
});

console.log('Top 10 high scorers:', highScorers);

// Range queries
const midRangeUsers = await lua.queryTable('Memory', {
    table: 'appUsers',
    field: 'score',
    operator: 'between',
    value: [400, 600],
    limit: 20
});

// String queries
const recentUsers = await lua.queryTable('Memory', {
    table: 'appUsers',
    field: 'created',
    operator: 'startsWith',
    value: '2024-01',
    limit: 50
});

// --- block 5
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

console.log('Score analysis:', analysis);

// --- block 6
// Function persistence performance
console.time('Function Persistence');
await lua.persistFunction('Memory', 'testFunc', 'function(x) return x * 2 end');
console.timeEnd('Function Persistence'); // ~5-15ms

// Batch operations performance
const batchOps = Array.from({length: 1000}, (_, i) => ({
    type: 'set', table: 'bench', key: `key${i}`, value: `value${i}`
}));

console.time('Batch 1000 Operations');
await lua.batchTableOperations(batchOps);
console.timeEnd('Batch 1000 Operations'); // ~50-100ms

// Query performance with indexing
await lua.createIndex('Memory', 'bench.key', 'btree');

console.time('Indexed Query');
const results = await lua.queryTable('Memory', {
    table: 'bench', field: 'key', operator: 'startsWith', value: 'key5', limit: 10
});
console.timeEnd('Indexed Query'); // ~2-5ms with index

// --- block 7
// Validate function code before persistence
const validation = await lua.validateFunction(userCode);
if (!validation.isValid) {
    throw new Error(`Invalid function: ${validation.error}`);
}

// Use schema validation for data integrity
await lua.setSchema('users', {
    name: { type: 'string', required: true },
    age: { type: 'number', min: 0, max: 150 },
    email: { type: 'string', pattern: /^[^\s@]+@[^\s@]+\.[^\s@]+$/ }
});

// Enable audit logging for sensitive operations
lua.enableAuditLog(['persistFunction', 'batchTableOperations']);
