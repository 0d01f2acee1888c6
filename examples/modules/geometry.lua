local format = require('shapes.format')

local geometry = {}

function geometry.area(w, h)
    return w * h
end

function geometry.describe(name, w, h)
    return format.line(name, geometry.area(w, h))
end

return geometry
