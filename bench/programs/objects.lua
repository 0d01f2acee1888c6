-- Closures and metatables: __index-based classes with inheritance, __add/__mul vectors, counters.
local Vec = {}
Vec.__index = Vec
function Vec.new(x, y) return setmetatable({ x = x, y = y }, Vec) end
function Vec.__add(a, b) return Vec.new(a.x + b.x, a.y + b.y) end
function Vec.__mul(a, k) return Vec.new(a.x * k, a.y * k) end
function Vec:dot(o) return self.x * o.x + self.y * o.y end

local Shape = {}
Shape.__index = Shape
function Shape.new(kind) return setmetatable({ kind = kind }, Shape) end
function Shape:area() return 0 end
function Shape:describe() return self.kind end

local Rect = setmetatable({}, { __index = Shape })
Rect.__index = Rect
function Rect.new(w, h)
  local r = Shape.new("rect")
  r.w, r.h = w, h
  return setmetatable(r, Rect)
end
function Rect:area() return self.w * self.h end

local Square = setmetatable({}, { __index = Rect })
Square.__index = Square
function Square.new(s) return setmetatable(Rect.new(s, s), Square) end

local function counter(step)
  local n = 0
  return function() n = n + step; return n end
end

local acc = Vec.new(0, 0)
local area, dots = 0, 0
local counters = { counter(1), counter(2), counter(3) }
for i = 1, 200000 do
  local v = Vec.new(i % 7, i % 11)
  acc = acc + v * 2
  dots = dots + v:dot(acc) % 1000
  local shape = (i % 2 == 0) and Rect.new(i % 5, i % 3) or Square.new(i % 4)
  area = area + shape:area() + #shape:describe()
  counters[i % 3 + 1]()
end
return string.format("%d,%d:%d:%d:%d:%d:%d", acc.x, acc.y, dots, area, counters[1](), counters[2](), counters[3]())
