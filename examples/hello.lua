-- Run with: cu run examples/hello.lua world
local name = arg[1] or "cu"
print(("Hello, %s! This is %s in a WebAssembly sandbox."):format(name, _VERSION))

local squares = {}
for i = 1, 5 do
  squares[#squares + 1] = i * i
end
return squares, #squares
