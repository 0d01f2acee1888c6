return {
    line = function(name, area) return string.format('%s: %d square metres', name, area) end,
}
