-- The users in _io.input.users scoring at least _io.input.threshold, into _io.output.
-- cu run examples/high_scorers.lua --input examples/users.json --json
local highScorers = {}
for _, user in ipairs(_io.input.users) do
  if user.score >= _io.input.threshold then
    table.insert(highScorers, { name = user.name, score = user.score })
  end
end
_io.output = { highScorers = highScorers, count = #highScorers }
