-- wrk script of bench/database.py: GET /items/<id>, the ids 1 to N in turn on
-- each connection's thread (N, the rows seeded, is the argument after --).
local rows = 1000
local id = 0

function init(args)
  rows = tonumber(args[1]) or rows
end

function request()
  id = id % rows + 1
  return wrk.format("GET", "/items/" .. id)
end
