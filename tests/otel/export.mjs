// The unmodified OpenTelemetry JS SDK and OTLP/HTTP exporter (JSON or protobuf, gzipped
// or not) against a Runwatch stack: exports a small trace whose resource names a run, then
// reads it back through the API and checks that every part came back as the SDK had it
// (the SDK's own copy of the spans, from an in-memory exporter beside the OTLP one, is
// the reference). Exits 1 on a difference. Env: RUNWATCH_TEST_URL, RUNWATCH_TOKEN
// (write), RUNWATCH_RUN (a run id); OTEL_TEST_PROTOCOL json (exporter-trace-otlp-http,
// the default) or proto (exporter-trace-otlp-proto); OTEL_TEST_COMPRESSION none or gzip.
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

const url = process.env.RUNWATCH_TEST_URL;
const token = process.env.RUNWATCH_TOKEN;
const run = process.env.RUNWATCH_RUN;
const protocol = process.env.OTEL_TEST_PROTOCOL ?? 'json';
const compression = process.env.OTEL_TEST_COMPRESSION ?? 'none';
const Exporter = { json: JsonExporter, proto: ProtoExporter }[protocol];
// The exporter reports a failed export (an HTTP error) here; it does not throw.
let exportError = null;
// Generous waits (the exporter's own is 10 s an export, the provider's flush 30 s): a loaded
// machine only makes the export slower, and only a server that never answers fails it.
const otlp = new Exporter({
  url: `${url}/v1/traces`,
  headers: { Authorization: `Bearer ${token}` },
  compression,
  timeoutMillis: 60_000,
});
const send = otlp.export.bind(otlp);
otlp.export = (spans, done) =>
  send(spans, (result) => {
    if (result.error) exportError = result.error;
    done(result);
  });
const memory = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'otel-itest', 'runwatch.run_id': run }),
  spanProcessors: [new SimpleSpanProcessor(otlp), new SimpleSpanProcessor(memory)],
  forceFlushTimeoutMillis: 120_000,
});
const tracer = provider.getTracer('runwatch-itest', '0.1.0');

const attrs = {
  str: 'héllo "q"',
  yes: true,
  no: false,
  int: 42,
  neg: -7,
  maxSafe: Number.MAX_SAFE_INTEGER,
  dbl: 0.1,
  // A whole-number double: the JS JSON serializer sends it as intValue (1.5e+300), the
  // protobuf one as double_value; both are stored as the double.
  huge: 1.5e300,
  strs: ['a', 'b'],
  nums: [1, 2.5],
  bools: [true, false],
};
const root = tracer.startSpan('root', { kind: SpanKind.SERVER, attributes: attrs });
root.addEvent('checkpoint', { step: 3, note: 'half' });
const ctx = trace.setSpan(context.active(), root);
const child = tracer.startSpan(
  'child',
  { kind: SpanKind.CLIENT, links: [{ context: root.spanContext(), attributes: { why: 'follows' } }] },
  ctx,
);
child.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
child.end();
root.setStatus({ code: SpanStatusCode.OK });
root.end();
await provider.forceFlush();
// (shutdown empties the in-memory exporter: its copy is taken first)
const sent = [...memory.getFinishedSpans()];
await provider.shutdown();
let failed = 0;
const traceId = root.spanContext().traceId;
const res = await fetch(`${url}/api/v1/traces/${traceId}`, {
  headers: { Authorization: `Bearer ${token}` },
});
const body = await res.json();
if (sent.length !== 2) failed = 1;
// JSON with object keys sorted: jsonb keeps its own key order.
const canon = (v) =>
  Array.isArray(v)
    ? `[${v.map(canon).join(',')}]`
    : v && typeof v === 'object'
      ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(',')}}`
      : JSON.stringify(v);
const check = (what, got, want) => {
  const ok = canon(got) === canon(want);
  console.log(`  ${ok ? 'ok' : 'FAILED'}: ${what}${ok ? '' : `: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`}`);
  if (!ok) failed = 1;
};
console.log(`  (${protocol}, compression ${compression})`);
check('the export succeeded', exportError ? String(exportError) : null, null);
check('GET /traces answers 200', res.status, 200);
check('both spans stored', body.spans?.length, 2);
const ns = (hr) => String(BigInt(hr[0]) * 1000000000n + BigInt(hr[1]));
for (const s of sent) {
  const got = body.spans?.find((x) => x.span_id === s.spanContext().spanId) ?? {};
  const name = s.name;
  check(`${name}: trace id`, got.trace_id, s.spanContext().traceId);
  check(`${name}: parent`, got.parent_span_id, s.parentSpanContext?.spanId ?? null);
  check(`${name}: kind (API kind + 1)`, got.kind, s.kind + 1);
  check(`${name}: start, nanoseconds`, got.start_time_unix_nano, ns(s.startTime));
  check(`${name}: end, nanoseconds`, got.end_time_unix_nano, ns(s.endTime));
  check(`${name}: status`, got.status, { code: s.status.code, message: s.status.message ?? '' });
  check(`${name}: linked to the run`, got.run_id, run);
  check(`${name}: scope`, [got.scope?.name, got.scope?.version], ['runwatch-itest', '0.1.0']);
  check(`${name}: resource`, got.resource?.attributes?.['service.name'], { stringValue: 'otel-itest' });
}
const r = body.spans?.find((x) => x.name === 'root') ?? {};
const a = r.attributes ?? {};
check('string', a.str, { stringValue: attrs.str });
check('true', a.yes, { boolValue: true });
check('false', a.no, { boolValue: false });
check('int', a.int, { intValue: '42' });
check('negative int', a.neg, { intValue: '-7' });
check('largest safe int', a.maxSafe, { intValue: String(Number.MAX_SAFE_INTEGER) });
check('double', a.dbl, { doubleValue: 0.1 });
check('whole double past int64', a.huge, { doubleValue: '1.5e+300' });
check('string array', a.strs, { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } });
check('number array', a.nums, { arrayValue: { values: [{ intValue: '1' }, { doubleValue: 2.5 }] } });
check('bool array', a.bools, { arrayValue: { values: [{ boolValue: true }, { boolValue: false }] } });
const rootSent = sent.find((s) => s.name === 'root');
check('event', [r.events?.[0]?.name, r.events?.[0]?.time_unix_nano, r.events?.[0]?.attributes],
  ['checkpoint', ns(rootSent.events[0].time), { step: { intValue: '3' }, note: { stringValue: 'half' } }]);
const c = body.spans?.find((x) => x.name === 'child') ?? {};
check('link', [c.links?.[0]?.trace_id, c.links?.[0]?.span_id, c.links?.[0]?.attributes],
  [traceId, root.spanContext().spanId, { why: { stringValue: 'follows' } }]);
process.exit(failed);
