-- 100,000 records {id, name, score, created} in _home.appUsers, as seed 004's Batch Operations
-- makes them (scores 0–999), in one call: the table of the query benchmarks
-- (host-rust/benches/query.rs, host-js/bench/storage.js).
math.randomseed(4)
local users = {}
for i = 0, 99999 do
    users["user_" .. i] = {
        id = i, name = string.format("User %05d", i), score = math.random(0, 999),
        created = string.format("2024-%02d-%02dT10:00:00Z", i % 12 + 1, i % 28 + 1),
    }
end
_home.appUsers = users
