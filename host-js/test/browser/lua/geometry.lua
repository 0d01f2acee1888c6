-- Fetched by the browser test: a module that requires another.
local fmt = require('shapes.fmt')
local M = {}
function M.area(w, h) return fmt.show(w * h) end
return M
