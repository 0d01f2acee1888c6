{
    average = function(values)
        local sum = 0
        for _, v in ipairs(values) do sum = sum + v end
        return sum / #values
    end,
    median = function(values)
        table.sort(values)
        local n = #values
        if n % 2 == 0 then
            return (values[n/2] + values[n/2 + 1]) / 2
        else
            return values[(n + 1) / 2]
        end
    end,
    correlation = function(x, y)
        local n = #x
        local sum_x, sum_y, sum_xy, sum_x2, sum_y2 = 0, 0, 0, 0, 0
        for i = 1, n do
            sum_x = sum_x + x[i]
            sum_y = sum_y + y[i]
            sum_xy = sum_xy + x[i] * y[i]
            sum_x2 = sum_x2 + x[i]^2
            sum_y2 = sum_y2 + y[i]^2
        end
        local numerator = n * sum_xy - sum_x * sum_y
        local denominator = math.sqrt((n * sum_x2 - sum_x^2) * (n * sum_y2 - sum_y^2))
        return denominator == 0 and 0 or numerator / denominator
    end
}
