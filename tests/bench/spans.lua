-- wrk script: POST the OTLP JSON of BENCH_BODY_FILE (spans_body.awk) to /v1/traces with the
-- bearer token BENCH_TOKEN, its trace ids' XXXXXXXX replaced in every request by the
-- second wrk started (mod 4096), the thread and a counter, so no request repeats one of
-- this run or of an earlier round (a repeated span is skipped, which costs far less).
-- BENCH_BODY_FILES (space-separated), when set, names several bodies sent in turn
-- (api.sh's spans512x4: one a run).
local bodies = {}
for path in string.gmatch(os.getenv("BENCH_BODY_FILES") or os.getenv("BENCH_BODY_FILE"), "%S+") do
    local f = assert(io.open(path, "rb"))
    bodies[#bodies + 1] = f:read("*a")
    f:close()
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
    }, (bodies[counter % #bodies + 1]:gsub("XXXXXXXX", tag)))
end
