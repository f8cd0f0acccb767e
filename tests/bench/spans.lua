-- wrk script: POST the OTLP JSON of BENCH_BODY_FILE (spans_body.awk) to /v1/traces with the
-- bearer token BENCH_TOKEN, its trace ids' XXXXXXXX replaced in every request by the
-- second wrk started (mod 4096), the thread and a counter, so no request repeats one of
-- this run or of an earlier round (a repeated span is skipped, which costs far less).
local f = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
local body = f:read("*a")
f:close()
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
    }, (body:gsub("XXXXXXXX", tag)))
end
