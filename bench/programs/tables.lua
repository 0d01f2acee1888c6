-- Tables: insert and remove at both ends and in the middle, sort with and without a comparator.
local seed = 7
local function rand(n) -- a tiny LCG, so native Lua and cu see the same data
  seed = (seed * 1103515245 + 12345) % 2147483648
  return (seed >> 16) % n -- the high bits: the low bits of this LCG cycle quickly
end

local list = {}
for i = 1, 20000 do table.insert(list, rand(1000000)) end
for i = 1, 500 do table.insert(list, 1 + rand(#list), i) end
for _ = 1, 500 do table.remove(list, 1 + rand(#list)) end
for _ = 1, 1000 do table.remove(list) end

local checksum = 0
for round = 1, 3 do
  local copy = table.move(list, 1, #list, 1, {})
  table.sort(copy)
  checksum = (checksum + copy[1] + copy[#copy // 2] + copy[#copy]) % 1000000007
  table.sort(copy, function(a, b) return a % 1000 < b % 1000 or (a % 1000 == b % 1000 and a > b) end)
  checksum = (checksum * 31 + copy[1] + copy[round * 100]) % 1000000007
end

local records = {}
for i = 1, 20000 do records[i] = { name = "r" .. rand(50000), score = rand(100) } end
table.sort(records, function(a, b)
  if a.score ~= b.score then return a.score > b.score end
  return a.name < b.name
end)
return checksum .. ":" .. records[1].name .. ":" .. records[#records].name .. ":" .. #list
