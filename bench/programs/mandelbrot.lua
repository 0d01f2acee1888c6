-- Float arithmetic in a tight loop: escape-time iterations over a grid of the Mandelbrot set.
local width, height, max_iter = 400, 300, 200
local total = 0
for py = 0, height - 1 do
  local ci = py / height * 2.4 - 1.2
  for px = 0, width - 1 do
    local cr = px / width * 3.5 - 2.5
    local zr, zi, n = 0.0, 0.0, 0
    while n < max_iter and zr * zr + zi * zi <= 4.0 do
      zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
      n = n + 1
    end
    total = total + n
  end
end
return total
