# spans_body.awk: an OTLP/HTTP JSON ExportTraceServiceRequest of N spans (awk -v n=512
# -v run=UUID -v sec=$(date +%s) -f spans_body.awk; spans start at that second), the shape an instrumented agent sends: one resource
# naming the run (service.name, runwatch.run_id), one scope, traces of 8 spans (a root and
# its children), each span with six attributes of four types and one event. Trace ids
# start with XXXXXXXX, which spans.lua replaces per request so no batch repeats another
# (a repeated span is skipped as a retry, which costs far less than storing it).
BEGIN {
    if (n == "") n = 512
    printf "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
    printf "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"bench-agent\"}},"
    printf "{\"key\":\"runwatch.run_id\",\"value\":{\"stringValue\":\"%s\"}}]},", run
    printf "\"scopeSpans\":[{\"scope\":{\"name\":\"bench\",\"version\":\"1.0\"},\"spans\":["
    # Nanoseconds as text: awk's numbers are doubles (53 bits).
    for (i = 0; i < n; i++) {
        tr = int(i / 8); k = i % 8
        trace = sprintf("XXXXXXXX%024x", tr)
        ns = i * 1000000
        start = sprintf("%d%09d", sec, ns)
        if (i) printf ","
        printf "{\"traceId\":\"%s\",\"spanId\":\"%08x%08x\",", trace, tr + 1, k + 1
        if (k) printf "\"parentSpanId\":\"%08x%08x\",", tr + 1, 1
        printf "\"name\":\"%s\",\"kind\":%d,", k ? "llm.call" : "agent.step", k ? 3 : 1
        printf "\"startTimeUnixNano\":\"%s\",\"endTimeUnixNano\":\"%d%09d\",", start, sec, ns + 750000
        printf "\"attributes\":["
        printf "{\"key\":\"gen_ai.request.model\",\"value\":{\"stringValue\":\"model-%d\"}},", i % 4
        printf "{\"key\":\"gen_ai.usage.input_tokens\",\"value\":{\"intValue\":\"%d\"}},", 100 + i
        printf "{\"key\":\"gen_ai.usage.output_tokens\",\"value\":{\"intValue\":%d}},", 20 + i % 50
        printf "{\"key\":\"gen_ai.request.temperature\",\"value\":{\"doubleValue\":0.7}},"
        printf "{\"key\":\"cache.hit\",\"value\":{\"boolValue\":%s}},", i % 3 ? "false" : "true"
        printf "{\"key\":\"step\",\"value\":{\"intValue\":\"%d\"}}],", k
        printf "\"events\":[{\"timeUnixNano\":\"%d%09d\",\"name\":\"token\",", sec, ns + 1000
        printf "\"attributes\":[{\"key\":\"n\",\"value\":{\"intValue\":\"1\"}}]}],"
        printf "\"status\":{\"code\":%d}}", i % 50 ? 1 : 2
    }
    printf "]}]}]}"
}
