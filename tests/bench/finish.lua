-- wrk script: PATCH a different run to succeeded on each request (a run's end), with
-- the bearer token BENCH_TOKEN. The run ids are the lines of BENCH_IDS_FILE, dealt out
-- between wrk's threads in turn; a thread that runs out repeats its last id, whose 409
-- shows as a non-2xx answer and fails the benchmark (seed more runs).
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
    ids[#ids + 1] = line
end
local threads = 0
function setup(thread)
    thread:set("first", threads)
    threads = threads + 1
end
local sent = 0
local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"),
}
function request()
    local step = tonumber(os.getenv("BENCH_THREADS"))
    local i = first + 1 + sent * step
    sent = sent + 1
    if i > #ids then
        i = #ids - (#ids - first - 1) % step
    end
    return wrk.format("PATCH", "/api/v1/runs/" .. ids[i], headers, '{"status":"succeeded"}')
end
