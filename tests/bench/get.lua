-- wrk script: GET /api/v1/runs/{id} of a random id from BENCH_IDS_FILE (one a line), with
-- the bearer token BENCH_TOKEN.
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
    ids[#ids + 1] = line
end
assert(#ids > 0, "no ids in " .. os.getenv("BENCH_IDS_FILE"))
local headers = { ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN") }
function init(args)
    -- each thread has its own Lua state: seed each differently
    math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end
function request()
    return wrk.format("GET", "/api/v1/runs/" .. ids[math.random(#ids)], headers)
end
