-- String building: concatenation with .., string.format, string.rep and table.concat.
local parts = {}
for i = 1, 60000 do
  local s = "item" .. i .. ":" .. string.format("%05d|%.3f|%x", i * 7 % 100000, i / 7, i)
  parts[#parts + 1] = s:upper():sub(1, 20) .. string.rep("-", i % 5)
end
local text = table.concat(parts, ",")

-- A rolling hash over the bytes proves every character was produced.
local hash = 0
for i = 1, #text, 3 do
  hash = (hash * 31 + text:byte(i)) % 1000000007
end
return #text .. ":" .. hash
