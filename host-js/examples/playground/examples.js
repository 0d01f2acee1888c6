// The playground's menu: the seeds' examples, their Lua as the seeds write it.

export const EXAMPLES = [
  {
    name: 'Visits kept in _home',
    code: `_home.visits = (_home.visits or 0) + 1
print("visit number", _home.visits)
return _home.visits`,
  },
  {
    name: 'Users in _home (seed 000)',
    code: `_home.users = _home.users or {}
_home.users.user1 = { name = 'Alice', age = 30 }
_home.users.user2 = { name = 'Bob', age = 25 }
return _home.users.user1`,
  },
  {
    name: 'A closure in _home (seed 000)',
    code: `local count = 0
function _home.counterFactory()
    count = count + 1
    return count
end
return _home.counterFactory(), _home.counterFactory()`,
  },
  {
    name: 'Ethereum fees with bigint (seed 000)',
    code: `local bigint = require('bigint')

-- Ethereum wei calculations (18 decimals)
local eth = bigint.new("1000000000000000000")  -- 1 ETH in wei
local gas = bigint.new("21000")                -- Standard transfer gas
local gwei = bigint.new("50")                  -- Gas price in gwei
local wei_per_gwei = bigint.new("1000000000")

local gas_price_wei = gwei * wei_per_gwei
local total_fee = gas * gas_price_wei
local remaining = eth - total_fee

return tostring(total_fee), tostring(remaining)`,
  },
  {
    name: 'Statistics functions (seed 000)',
    code: `function _home.average(values)
    local sum = 0
    for _, v in ipairs(values) do sum = sum + v end
    return sum / #values
end

function _home.stdev(values)
    local avg = _home.average(values)
    local sum = 0
    for _, v in ipairs(values) do
        sum = sum + (v - avg)^2
    end
    return math.sqrt(sum / #values)
end

local data = {10, 20, 30, 40, 50}
return _home.average(data), _home.stdev(data)`,
  },
  {
    name: 'An indexed query (seed 004)',
    code: `local home = require('home')
_home.appUsers = _home.appUsers or {}
for i = 1, 50 do
    _home.appUsers["user_" .. i] = { id = i, score = (i * 37) % 1000 }
end
home.createIndex('appUsers', 'score')
return home.queryTable('appUsers', { field = 'score', operator = '>=', value = 800, sort = 'desc', limit = 5 })`,
  },
  {
    name: 'An error, shown at its line',
    code: `local function divide(a, b)
    if b == 0 then error("cannot divide by zero") end
    return a / b
end
return divide(1, 0)`,
  },
  {
    name: 'A runaway loop, stopped by the time limit',
    code: `local n = 0
while true do n = n + 1 end`,
  },
];
