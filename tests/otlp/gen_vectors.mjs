// gen_vectors: writes the OTLP trace vectors of tests/unit/test_otlp_pb.c. Each vector is
// one set of ReadableSpans serialized twice by the unmodified OpenTelemetry JS serializers
// (@opentelemetry/otlp-transformer): vectors/NAME.pb (ProtobufTraceSerializer, what
// exporter-trace-otlp-proto sends) and vectors/NAME.json (JsonTraceSerializer, what
// exporter-trace-otlp-http sends). The unit test decodes the .pb and compares the tree
// with the .json, so it needs neither npm nor Node.js. Run after changing the spans here:
//   cd tests/otlp && npm ci && node gen_vectors.mjs
// Everything is fixed (ids, times), so the output is the same on every run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'vectors');
mkdirSync(out, { recursive: true });

// A ReadableSpan as the SDK hands it to an exporter, with every field chosen.
function span(o) {
  const ctx = {
    traceId: o.traceId,
    spanId: o.spanId,
    traceFlags: o.traceFlags ?? TraceFlags.SAMPLED,
    traceState: o.traceState,
  };
  return {
    name: o.name,
    kind: o.kind,
    spanContext: () => ctx,
    parentSpanContext: o.parent,
    startTime: o.start ?? [1764806400, 123456789],
    endTime: o.end ?? [1764806401, 987654321],
    status: o.status ?? { code: SpanStatusCode.UNSET },
    attributes: o.attributes ?? {},
    links: o.links ?? [],
    events: o.events ?? [],
    duration: [1, 864197532],
    ended: true,
    resource: o.resource,
    instrumentationScope: o.scope,
    droppedAttributesCount: o.droppedAttributesCount ?? 0,
    droppedEventsCount: o.droppedEventsCount ?? 0,
    droppedLinksCount: o.droppedLinksCount ?? 0,
  };
}

const T1 = '0af7651916cd43dd8448eb211c80319c';
const T2 = 'ffffffffffffffffffffffffffffffff';
const S1 = 'b7ad6b7169203331';
const S2 = '00f067aa0ba902b7';
const S3 = 'ffffffffffffffff';
const S4 = '0000000000000001';

// Every attribute value type, with the edges of each.
const everyType = {
  str: 'plain',
  'str.empty': '',
  'str.unicode': 'héllo — 日本語 🎉 e\u0301 \u2028 "q" \\ \n\t',
  'str.control': '\u0001\u001f\u007f',
  'bool.true': true,
  'bool.false': false,
  'int.zero': 0,
  'int.one': 1,
  'int.neg': -1,
  'int.min': -(2 ** 63),
  'int.2p53': 2 ** 53,
  'int.2p53m1': Number.MAX_SAFE_INTEGER,
  'int.2p62': 2 ** 62,
  'int.maxdouble': 2 ** 63 - 1024, // the largest double below 2^63
  'double.pi': 3.141592653589793,
  'double.tenth': 0.1,
  'double.neg': -0.5,
  'double.tiny': 1e-300,
  'double.subnormal': 5e-324,
  // Not 'double.max' (1.7976931348623157e308) nor any whole number past 2^63: the JSON
  // serializer sends it as intValue (Number.isInteger), the protobuf one as double_value,
  // so the two encodings of the same span differ. test_otlp_pb.c checks it by hand.
  'double.third': 1 / 3,
  bytes: new Uint8Array([0, 1, 2, 127, 128, 254, 255]),
  'bytes.empty': new Uint8Array([]),
  'bytes.one': new Uint8Array([0xfb]),
  'bytes.two': new Uint8Array([0xfb, 0xff]),
  'array.str': ['a', '', 'ü'],
  'array.int': [1, -2, 3],
  'array.double': [1.5, -2.25],
  'array.bool': [true, false],
  'array.mixed': ['x', 1, 2.5, false, null],
  'array.empty': [],
  'array.nested': [[1, [2, [3]]], []],
  kvlist: { a: 1, b: { c: 'd', e: [true, { f: 2.5 }] }, g: {} },
  null: null,
  undef: undefined,
};

const resource = resourceFromAttributes(
  {
    'service.name': 'runwatch-vectors',
    'runwatch.run_id': '018f2d6a-8c1b-8000-8000-000000000001',
    'runwatch.attempt': 2,
    'host.arch': 'amd64',
  },
  { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' },
);
const scope = {
  name: 'runwatch.vectors',
  version: '1.2.3',
  schemaUrl: 'https://opentelemetry.io/schemas/1.29.0',
};
const scopeBare = { name: 'bare' };

const root = span({
  name: 'root',
  kind: SpanKind.SERVER,
  traceId: T1,
  spanId: S1,
  resource,
  scope,
  status: { code: SpanStatusCode.OK },
  attributes: everyType,
});
const child = span({
  name: 'child ✓',
  kind: SpanKind.CLIENT,
  traceId: T1,
  spanId: S2,
  parent: { traceId: T1, spanId: S1, traceFlags: TraceFlags.SAMPLED, isRemote: false },
  traceState: new TraceState('vendor=x,other=y'),
  resource,
  scope,
  status: { code: SpanStatusCode.ERROR, message: 'boom: 失敗' },
  attributes: { 'gen_ai.request.model': 'gpt-x', 'gen_ai.usage.input_tokens': 1234 },
  droppedAttributesCount: 3,
  droppedEventsCount: 4,
  droppedLinksCount: 5,
  events: [
    { name: 'first', time: [1764806400, 500000000], attributes: { k: 'v', n: 7 } },
    {
      name: 'exception',
      time: [1764806400, 999999999],
      attributes: { 'exception.message': 'x\ny', 'exception.type': 'Error' },
      droppedAttributesCount: 2,
    },
    { name: 'bare', time: [0, 0] },
  ],
  links: [
    {
      context: {
        traceId: T2,
        spanId: S3,
        traceFlags: TraceFlags.NONE,
        isRemote: true,
        traceState: new TraceState('a=1'),
      },
      attributes: { 'link.kind': 'follows', 'link.n': [1, 2] },
      droppedAttributesCount: 1,
    },
    { context: { traceId: T1, spanId: S1, traceFlags: TraceFlags.SAMPLED } },
  ],
});
// Times at both ends of fixed64, a remote parent, the remaining kinds.
const extremes = span({
  name: 'extremes',
  kind: SpanKind.INTERNAL,
  traceId: T2,
  spanId: S4,
  parent: { traceId: T2, spanId: S3, traceFlags: TraceFlags.NONE, isRemote: true },
  start: [0, 0],
  end: [18446744073, 709551615], // 2^64 - 1 ns
  resource,
  scope: scopeBare,
  traceFlags: TraceFlags.NONE,
});
const kinds = [SpanKind.PRODUCER, SpanKind.CONSUMER, undefined].map((kind, i) =>
  span({
    name: `kind ${i}`,
    kind,
    traceId: T1,
    spanId: `000000000000000${i + 2}`,
    parent: { traceId: T1, spanId: S2, traceFlags: TraceFlags.SAMPLED },
    start: [1764806402, i],
    end: [1764806402, 1000 + i],
    resource,
    scope: scopeBare,
  }),
);
const otherResource = resourceFromAttributes({ 'service.name': 'second', empty: '' });
const other = span({
  name: '',
  kind: SpanKind.SERVER,
  traceId: T2,
  spanId: S2,
  resource: otherResource,
  scope: { name: 'scoped', version: '0.0.1' },
  status: { code: SpanStatusCode.ERROR },
});

// Spans from the real SDK: a tracer with fixed ids and explicit times.
async function sdkSpans() {
  const exporter = new InMemorySpanExporter();
  let next = 0;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'sdk' }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    idGenerator: {
      generateTraceId: () => 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
      generateSpanId: () => (++next).toString(16).padStart(16, '0'),
    },
  });
  const tracer = provider.getTracer('sdk-tracer', '9.9.9');
  const parent = tracer.startSpan('sdk parent', {
    kind: SpanKind.SERVER,
    startTime: [1764806500, 1],
    attributes: { 'http.method': 'GET', 'http.status_code': 200, ratio: 0.25, ok: true },
  });
  const { context, trace } = await import('@opentelemetry/api');
  const ctx = trace.setSpan(context.active(), parent);
  const childSpan = tracer.startSpan('sdk child', { startTime: [1764806500, 2] }, ctx);
  childSpan.addEvent('tick', { i: 1 }, [1764806500, 3]);
  childSpan.setStatus({ code: SpanStatusCode.ERROR, message: 'bad' });
  childSpan.end([1764806500, 4]);
  parent.end([1764806500, 5]);
  await provider.forceFlush();
  return exporter.getFinishedSpans();
}

const vectors = {
  every_type: [root],
  full: [root, child, extremes, ...kinds, other],
  empty: [],
  sdk: await sdkSpans(),
};

for (const [name, spans] of Object.entries(vectors)) {
  writeFileSync(join(out, `${name}.pb`), ProtobufTraceSerializer.serializeRequest(spans));
  writeFileSync(join(out, `${name}.json`), JsonTraceSerializer.serializeRequest(spans));
}
console.log(`wrote ${Object.keys(vectors).length} vectors to ${out}`);
