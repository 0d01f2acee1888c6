-- Patterns: gsub, gmatch and find over generated text.
local seed = 42
local function rand(n) -- a tiny LCG, so native Lua and cu see the same text
  seed = (seed * 1103515245 + 12345) % 2147483648
  return (seed >> 16) % n -- the high bits: the low bits of this LCG cycle quickly
end

local words = { "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta" }
local lines = {}
for i = 1, 12000 do
  local line = {}
  for _ = 1, 12 do line[#line + 1] = words[rand(#words) + 1] .. rand(1000) end
  lines[i] = table.concat(line, " ")
end
local text = table.concat(lines, "\n")

local counts, numbers = {}, 0
for word, number in text:gmatch("(%a+)(%d+)") do
  counts[word] = (counts[word] or 0) + 1
  numbers = numbers + tonumber(number)
end
local swapped, swaps = text:gsub("(%a+)(%d+)", "%2%1")
local upper = text:gsub("%f[%a]%a", string.upper)
local found, pos = 0, 1
while true do
  local s, e = text:find("eta%d%d%d", pos)
  if not s then break end
  found, pos = found + 1, e + 1
end
return string.format("%d:%d:%d:%d:%d:%d", counts.gamma, numbers, swaps, #swapped, #upper, found)
