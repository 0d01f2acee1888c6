-- Run once per batch by `cu stream`: each batch of items is in _io.input.batch.
-- cu stream examples/double.lua --input examples/numbers.json --batch 3
local doubled = {}
for i, n in ipairs(_io.input.batch) do
  doubled[i] = n * 2
end
_io.output = doubled
