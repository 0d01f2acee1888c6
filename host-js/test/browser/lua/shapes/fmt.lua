return { show = function(n) return 'area ' .. n end }
