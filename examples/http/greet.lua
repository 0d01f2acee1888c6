return function(who)
  if who == "" then who = "world" end
  return "hello " .. who
end
