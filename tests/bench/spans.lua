-- wrk script: POST the OTLP JSON of BENCH_BODY_FILE (spans_body.awk) to /v1/traces with the
-- bearer token BENCH_TOKEN, its trace ids' XXXXXXXX replaced in every request by the
-- second wrk started (mod 4096), the thread and a counter, so no request repeats one of
-- this run or of an earlier round (a repeated span is skipped, which costs far less).
-- BENCH_BODY_FILES (space-separated), when set, names several bodies sent in turn
-- (api.sh's spans512x4: one a run).
-- Each body is split at its tags once; a request joins the pieces with its tag. A gsub of
-- the 340 KB body per request cost wrk about 2 ms of CPU a request, a tenth of what the
-- stack spends on it, taken from the same two cores (docs/PERFORMANCE.md, "the load
-- generator's own cost").
local bodies = {}
for path in string.gmatch(os.getenv("BENCH_BODY_FILES") or os.getenv("BENCH_BODY_FILE"), "%S+") do
    local f = assert(io.open(path, "rb"))
    local text = f:read("*a")
    f:close()
    local pieces, at = {}, 1
    while true do
        local i, j = string.find(text, "XXXXXXXX", at, true)
        if not i then
            break
        end
        pieces[#pieces + 1] = string.sub(text, at, i - 1)
        at = j + 1
    end
    pieces[#pieces + 1] = string.sub(text, at)
    bodies[#bodies + 1] = pieces
end
local token = os.getenv("BENCH_TOKEN")
local threads = 0
local counter = 0
local prefix

setup = function(thread)
    threads = threads + 1
    thread:set("tid", threads)
end

init = function()
    prefix = string.format("%04x", (os.time() % 4096) * 16 + (tid or 0) % 16)
end

request = function()
    counter = counter + 1
    local tag = prefix .. string.format("%04x", counter % 65536)
    return wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["Authorization"] = "Bearer " .. token,
    }, table.concat(bodies[counter % #bodies + 1], tag))
end
