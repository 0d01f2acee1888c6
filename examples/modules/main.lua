-- A program of three files: `cu run examples/modules/main.lua` finds geometry.lua beside it,
-- and geometry.lua finds shapes/format.lua the same way.
local geometry = require('geometry')
print(geometry.describe('room', 6, 7))
return geometry.area(2, 3)
