import fc from 'fast-check';
import { CreateStreamTokenSchema, CreateUploadSchema } from '../../functions/contract/api-schemas';

/**
 * fast-check generators of hostile HTTP requests for every route of functions/app/triggers.ts. Each request says whether
 * a 2xx is a right answer (`mayPass`): only when every part the endpoint reads is valid by construction. Requests that
 * would write (submit, upload, stream token, cancel) are always invalid by construction, so they must change nothing.
 */

/** Who the request claims to be: the two real keys, no credential, or a malformed or unknown one. */
export type Credential = 'alice' | 'bob' | 'none' | 'garbage';

export interface HostileRequest {
  /** The route it aims at, for the tally: `GET api/tasks/{id}`. */
  endpoint: string;
  method: string;
  /** Path and query exactly as written on the request line. */
  target: string;
  headers: Record<string, string>;
  body?: Buffer;
  credential: Credential;
  /** How a real key is presented. */
  keyHeader: 'authorization' | 'x-api-key';
  mayPass: boolean;
}

export interface HostileFixture {
  /** A succeeded task of alice's (bob cannot see it). */
  aliceTask: string;
  /** Task types the catalog knows: a submit naming one might be accepted, so random bodies never do. */
  taskTypes: readonly string[];
  /** Files GET /ui/{*path} serves. */
  uiFiles: readonly string[];
}

/** A generated value and whether the endpoint accepts it. */
interface Part {
  text: string;
  ok: boolean;
}

const ok = (text: string): Part => ({ text, ok: true });
const bad = (text: string): Part => ({ text, ok: false });

const TASK_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
const TYPE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** Strings that have broken parsers, routers, ORMs and templates somewhere. */
const NASTY = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '..',
  '../..',
  '%00',
  '%',
  '%zz',
  '%E0%A4%A',
  '\u0000',
  '\uFEFF',
  '\uD800',
  'NaN',
  'Infinity',
  '-0',
  '1e400',
  '0x1F',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '[object Object]',
  '<script>alert(1)</script>',
  "' OR '1'='1",
  '${7*7}',
  '{{7*7}}',
  '../../etc/passwd',
  'C:\\Windows\\win.ini',
  '\r\nX-Injected: 1',
  '😀',
  '\u202Egnp.exe',
];

/** Short hostile strings, for query values, path segments and JSON keys. */
export const nastyShort: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

/** Hostile strings for JSON bodies, up to a few hundred KB. */
const nastyLong: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: nastyShort },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('a', 'é', '😀', '\u0000', '[', '"', '\\'),
        fc.integer({ min: 1_000, max: 300_000 }),
      )
      .map(([c, n]) => c.repeat(n)),
  },
);

const nastyKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'type', 'input', 'taskId', ''),
  nastyShort,
);

/** Numbers JSON.parse turns into Infinity, -0 or 0, and the strings that look like numbers. */
const NUMBER_TEXTS = [
  '1e400',
  '-1e400',
  '-0',
  '1e-400',
  '9007199254740993',
  '0.1e1',
  '"NaN"',
  '"Infinity"',
  '"-0"',
];

const jsonValueText: fc.Arbitrary<string> = fc.oneof(
  fc.json({ maxDepth: 5 }),
  fc.constantFrom(...NUMBER_TEXTS),
  fc
    .anything({
      key: nastyKey,
      maxDepth: 4,
      values: [nastyLong, fc.double(), fc.boolean(), fc.constant(null)],
    })
    .map((v) => JSON.stringify(v) ?? 'null'),
);

/** `[[[…]]]` and `{"a":{"a":…}}` from 2 to 20 000 deep, balanced or not. */
const deepJson: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 2, max: 20_000 }), fc.constantFrom('array', 'object', 'unbalanced', 'in-input'))
  .map(([depth, shape]) => {
    switch (shape) {
      case 'array':
        return `${'['.repeat(depth)}${']'.repeat(depth)}`;
      case 'object':
        return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      case 'unbalanced':
        return '['.repeat(depth);
      default:
        return `{"type":"no-such-type","input":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    }
  });

/** Objects whose keys try prototype pollution: `__proto__`, `constructor.prototype`. */
const pollutingJson: fc.Arbitrary<string> = fc
  .tuple(jsonValueText, fc.constantFrom('__proto__', 'constructor', 'prototype'))
  .map(
    ([value, key]) =>
      `{"${key}":{"polluted":${value},"isAdmin":true,"prototype":{"polluted":true}},"type":"no-such-type"}`,
  );

/** A JSON text cut short, kept only when it really is no longer JSON. */
const truncatedJson: fc.Arbitrary<string> = fc
  .json({ maxDepth: 4 })
  .filter((t) => t.length > 1)
  .chain((t) => fc.integer({ min: 1, max: t.length - 1 }).map((end) => t.slice(0, end)))
  .filter((t) => !parses(t));

/** Bytes that are not UTF-8 (lone continuation bytes, overlong forms, encoded surrogates) inside a JSON string. */
const invalidUtf8: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.constantFrom(
      [0xc3, 0x28],
      [0xff],
      [0x80],
      [0xed, 0xa0, 0x80],
      [0xc0, 0xaf],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0xe2, 0x82],
    ),
    fc.constantFrom('type', 'input'),
  )
  .map(([bytes, slot]) =>
    slot === 'type'
      ? Buffer.concat([Buffer.from('{"type":"'), Buffer.from(bytes), Buffer.from('","input":{}}')])
      : Buffer.concat([
          Buffer.from('{"type":"no-such-type","input":"'),
          Buffer.from(bytes),
          Buffer.from('"}'),
        ]),
  );

/** Any hostile body, as bytes. */
const anyBody: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: jsonValueText.map((t) => Buffer.from(t)) },
  { weight: 2, arbitrary: deepJson.map((t) => Buffer.from(t)) },
  { weight: 2, arbitrary: pollutingJson.map((t) => Buffer.from(t)) },
  { weight: 2, arbitrary: truncatedJson.map((t) => Buffer.from(t)) },
  { weight: 2, arbitrary: invalidUtf8 },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 1, arbitrary: nastyLong.map((s) => Buffer.from(s)) },
);

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The body as the server reads it (UTF-8, bad bytes replaced), or undefined when that is not JSON. */
function parsedBody(body: Buffer): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(body.toString('utf8')) as unknown };
  } catch {
    return undefined;
  }
}

/** Whether the server might accept `body` as a submit: an object naming a known task type. */
function mightSubmit(body: Buffer, taskTypes: readonly string[]): boolean {
  const parsed = parsedBody(body)?.value as { type?: unknown } | null | undefined;
  return typeof parsed === 'object' && parsed !== null && taskTypes.includes(parsed.type as string);
}

/** Values the simulate input schema refuses for `steps` (an integer from 1 to 10 000). */
const BAD_STEPS = [
  '1e400',
  '-1e400',
  '0',
  '-0',
  '1e-400',
  '10001',
  '1.5',
  '"5"',
  '"NaN"',
  'null',
  'true',
  '[]',
  '{}',
];

/**
 * A submit of the known type `simulate` whose `steps` is out of its schema, amid hostile extra input keys; `steps`
 * comes last, so a duplicated key cannot make it valid.
 */
const badSimulate: fc.Arbitrary<Buffer> = fc
  .tuple(fc.dictionary(nastyKey, jsonValueText, { maxKeys: 4 }), fc.constantFrom(...BAD_STEPS))
  .map(([extra, steps]) => {
    const fields = Object.entries(extra).map(([k, v]) => `${JSON.stringify(k)}:${v}`);
    return Buffer.from(`{"type":"simulate","input":{${[...fields, `"steps":${steps}`].join(',')}}}`);
  });

const JSON_CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/problem+json',
];
const OTHER_CONTENT_TYPES = [
  '',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonx',
  'json',
  'application/json, text/plain',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  '*/*',
];
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...JSON_CONTENT_TYPES) },
  { weight: 2, arbitrary: fc.constantFrom(...OTHER_CONTENT_TYPES) },
);

/** Header values Node's client can write (no CR, LF or NUL): hostile, but well-formed on the wire. */
const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({
    unit: fc
      .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
      .map((c) => String.fromCharCode(c)),
    maxLength: 60,
  }),
  fc.constantFrom(
    '',
    ' ',
    '\t',
    '-1',
    '1e400',
    'NaN',
    '0x10',
    '1.5',
    '9'.repeat(40),
    'ÿÿÿ',
    '%00',
    '__proto__',
  ),
);

/** Headers that any endpoint might read, or choke on. */
const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    accept: fc.oneof(
      fc.constantFrom(
        'text/event-stream',
        'application/json',
        '*/*',
        'text/event-stream;q=0',
        'application/problem+json',
        'text/html, text/event-stream',
      ),
      headerValue,
    ),
    'last-event-id': headerValue,
    'idempotency-key': fc.oneof(
      headerValue,
      fc.constantFrom('x'.repeat(256), 'order-42', ' spaced ', 'é', '\t'),
    ),
    traceparent: fc.oneof(headerValue, fc.constant(`00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`)),
    origin: fc.oneof(fc.constantFrom('https://evil.example', 'null', 'http://127.0.0.1'), headerValue),
    'access-control-request-method': fc.constantFrom('POST', 'DELETE', 'PUT', 'GET'),
    'if-none-match': headerValue,
    cookie: headerValue,
    'x-forwarded-proto': fc.constantFrom('https', 'http', 'gopher'),
    'content-type': fc.oneof(contentType, headerValue),
    'x-hostile': headerValue,
  },
  { requiredKeys: [] },
);

/** Now and then one header of 12 to 24 KB: around MAX_HEADER_BYTES (16 KiB), below the host's 32 KiB. */
const oversizeHeader: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.integer({ min: 12_000, max: 24_000 }).map((n) => ({ 'x-pad': 'p'.repeat(n) })) },
);

/** The credential; a `garbage` one comes with its own malformed header. */
const credential: fc.Arbitrary<{
  credential: Credential;
  keyHeader: 'authorization' | 'x-api-key';
  headers: Record<string, string>;
}> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc
      .tuple(
        fc.constantFrom<Credential>('alice', 'alice', 'bob', 'none'),
        fc.constantFrom('authorization', 'x-api-key'),
      )
      .map(([c, keyHeader]) => ({
        credential: c,
        keyHeader: keyHeader as 'authorization' | 'x-api-key',
        headers: {},
      })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom('authorization', 'x-api-key'),
        fc.oneof(
          headerValue,
          fc.constantFrom(
            'Bearer',
            'Bearer ',
            'Basic dXNlcjpwYXNz',
            `Bearer lh_${'A'.repeat(43)}`,
            `lh_${'A'.repeat(43)}`,
          ),
          headerValue.map((v) => `Bearer ${v}`),
        ),
      )
      .map(([name, value]) => ({
        credential: 'garbage' as const,
        keyHeader: 'authorization' as const,
        headers: { [name]: value },
      })),
  },
);

/** A query string from tagged parameters; a repeated one counts with its last value, as the API reads it. */
function queryString(params: Array<[Part, Part]>): { text: string; ok: boolean } {
  const last = new Map<string, Part>();
  const keysOk = params.every(([k]) => k.ok);
  for (const [k, v] of params) last.set(k.text, v);
  const text = params.map(([k, v]) => `${k.text}=${v.text}`).join('&');
  return { text: text && `?${text}`, ok: keysOk && [...last.values()].every((v) => v.ok) };
}

/** Percent-encodes as UTF-8; a lone surrogate becomes its (invalid) three-byte form, where encodeURIComponent throws. */
const enc = (s: string): string =>
  [...s]
    .map((c) => {
      const code = c.charCodeAt(0);
      if (c.length > 1 || code < 0xd800 || code > 0xdfff) return encodeURIComponent(c);
      return `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`.toUpperCase();
    })
    .join('');

/** Breaks the percent-encoding of a value: what remains is never a valid status, type, limit or cursor. */
const brokenEscape = fc
  .tuple(fc.string({ maxLength: 8 }), fc.constantFrom('%', '%zz', '%E0%A4%A', '%%', '%u0041', '%C0%AF'))
  .map(([s, e]) => bad(`${enc(s)}${e}`));

function param(key: string, value: fc.Arbitrary<Part>): fc.Arbitrary<[Part, Part]> {
  return value.map((v) => [ok(key), v]);
}

const unknownParam: fc.Arbitrary<[Part, Part]> = fc
  .tuple(
    fc.oneof(fc.constantFrom('__proto__', 'constructor', 'token', 'foo', 'Status', 'LIMIT', ''), nastyShort),
    nastyShort,
  )
  .map(([k, v]) => [bad(enc(k)), bad(enc(v))]);

const nastyValue = nastyShort.map((s) => bad(enc(s)));

/** `limit` between `min` and `max`, or numbers and strings the schema refuses. */
function limitParam(max: number): fc.Arbitrary<Part> {
  return fc.oneof(
    fc.integer({ min: 1, max }).map((n) => ok(String(n))),
    fc.constantFrom('0', String(max + 1), '-1', '1.5', 'abc', '1e400', 'NaN', 'Infinity', '', '-0').map(bad),
    brokenEscape,
  );
}

const listTasksQuery = fc
  .array(
    fc.oneof(
      param(
        'status',
        fc.oneof(
          fc.constantFrom(...TASK_STATUSES).map(ok),
          nastyShort.filter((s) => !TASK_STATUSES.includes(s)).map((s) => bad(enc(s))),
          brokenEscape,
        ),
      ),
      param(
        'type',
        fc.oneof(
          fc.stringMatching(TYPE_NAME).map(ok),
          nastyShort.filter((s) => !TYPE_NAME.test(s)).map((s) => bad(enc(s))),
          brokenEscape,
        ),
      ),
      param('limit', limitParam(100)),
      param(
        'cursor',
        fc.oneof(
          nastyValue,
          fc.base64String({ maxLength: 60 }).map((s) => bad(enc(s))),
        ),
      ),
      unknownParam,
    ),
    { maxLength: 5 },
  )
  .map(queryString);

const afterParam: fc.Arbitrary<Part> = fc.oneof(
  fc.nat({ max: 1_000_000 }).map((n) => ok(String(n))),
  fc.constantFrom('-1', '1.5', 'abc', '1e400', 'NaN').map(bad),
  brokenEscape,
);

const listEventsQuery = fc
  .array(fc.oneof(param('after', afterParam), param('limit', limitParam(1000)), unknownParam), {
    maxLength: 4,
  })
  .map(queryString);

/** Who may get a 2xx: anyone (public), any real key, alice's key only, or nobody. */
type Access = 'public' | 'any' | 'alice' | 'none';

/** A `{id}` segment: alice's task (visible to her only), an unknown UUID, or anything that is not a UUID. */
function idSegment(
  fixture: HostileFixture,
  allowDotSegments: boolean,
): fc.Arbitrary<{ text: string; access: Access }> {
  const task = fixture.aliceTask;
  const garbage = fc.oneof(
    // Not empty: `/api/tasks/` is the list.
    nastyShort.filter((s) => s !== '').map(enc),
    fc.constantFrom(
      'a%2Fb',
      '%2F',
      '%5C',
      '%00',
      'x'.repeat(3000),
      task.replace(/-/g, ''),
      `%7B${task}%7D`,
      `urn:uuid:${task}`,
      `${task}%00`,
      `${task}%20`,
      `${task.slice(0, -1)}g`,
      '00000000-0000-0000-0000-000000000000',
    ),
    brokenEscape.map((p) => p.text),
  );
  return fc.oneof(
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(task, task.toUpperCase())
        .map((text) => ({ text, access: 'alice' as const })),
    },
    { weight: 1, arbitrary: fc.uuid().map((text) => ({ text, access: 'none' as const })) },
    { weight: 4, arbitrary: garbage.map((text) => ({ text, access: 'none' as const })) },
    // URL parsing resolves `..` and `%2e%2e` before routing; hostileRequest judges where such a request lands.
    ...(allowDotSegments
      ? [
          {
            weight: 1,
            arbitrary: fc
              .constantFrom('..', '%2e%2e', '.', '..%2F..')
              .map((text) => ({ text, access: 'none' as const })),
          },
        ]
      : []),
  );
}

interface Shape {
  endpoint: string;
  method: string;
  target: string;
  body?: Buffer;
  /** Who may get a 2xx, when every other part of the request is valid. */
  access: Access;
  /** Headers the shape needs (Accept for the SSE URLs). */
  headers?: Record<string, string>;
}

/** Bodies a submit can never accept: not JSON, or JSON that names no known type, or simulate with bad steps. */
function submitBody(fixture: HostileFixture): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 4, arbitrary: anyBody.filter((b) => !mightSubmit(b, fixture.taskTypes)) },
    { weight: 2, arbitrary: badSimulate },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...fixture.taskTypes), jsonValueText, nastyShort)
        .map(([type, input, key]) =>
          Buffer.from(`{"type":${JSON.stringify(type)},"input":${input},${JSON.stringify(`x${key}`)}:1}`),
        ),
    },
  );
}

/** Upload requests the schema refuses: at least one field wrong, or no object at all. */
const uploadBody: fc.Arbitrary<Buffer> = fc.oneof(
  anyBody.filter((b) => !CreateUploadSchema.safeParse(parsedBody(b)?.value).success),
  fc
    .record({
      filename: fc.oneof(
        nastyLong,
        fc.constantFrom('a/b.csv', '..\\x.csv', '', 'x'.repeat(256), 'a\u0000.csv'),
      ),
      contentType: fc.oneof(
        fc.constantFrom('application/x-msdownload', 'text/html', 'TEXT/CSV', ''),
        nastyShort,
      ),
      size: fc.oneof(fc.constantFrom(0, -1, 1.5, 5 * 1024 ** 4, Number.MAX_SAFE_INTEGER), fc.integer()),
    })
    .map((r) => Buffer.from(JSON.stringify(r)))
    .filter((b) => !CreateUploadSchema.safeParse(parsedBody(b)?.value).success),
);

const streamTokenBody: fc.Arbitrary<Buffer> = fc.oneof(
  anyBody.filter((b) => !CreateStreamTokenSchema.safeParse(parsedBody(b)?.value).success),
  fc
    .oneof(
      nastyShort,
      fc.uuid().map((u) => `${u}x`),
    )
    .map((taskId) => Buffer.from(JSON.stringify({ taskId }))),
  fc
    .tuple(fc.uuid(), nastyKey)
    .map(([taskId, key]) => Buffer.from(`{"taskId":"${taskId}",${JSON.stringify(`x${key}`)}:1}`)),
);

const API_GET_ROUTES = [
  'api/tasks',
  'api/tasks/{id}',
  'api/tasks/{id}/result',
  'api/tasks/{id}/events',
  'api/events',
  'api/task-types',
  'api/openapi.json',
  'api/docs',
  'api/health',
  'api/health/ready',
];

/** Every route with every method, and the methods it does not take (405), and paths nothing serves (404). */
function shapes(fixture: HostileFixture): fc.Arbitrary<Shape> {
  const id = idSegment(fixture, false);
  const getId = idSegment(fixture, true);
  const sse = { accept: 'text/event-stream' };
  const when = (valid: boolean, access: Access): Access => (valid ? access : 'none');
  const all = {
    submit: fc.tuple(submitBody(fixture), listTasksQuery).map(([body, q]): Shape => ({
      endpoint: 'POST api/tasks',
      method: 'POST',
      target: `/api/tasks${q.text}`,
      body,
      access: 'none',
    })),
    upload: uploadBody.map((body): Shape => ({
      endpoint: 'POST api/uploads',
      method: 'POST',
      target: '/api/uploads',
      body,
      access: 'none',
    })),
    streamToken: streamTokenBody.map((body): Shape => ({
      endpoint: 'POST api/stream-tokens',
      method: 'POST',
      target: '/api/stream-tokens',
      body,
      access: 'none',
    })),
    list: listTasksQuery.map((q): Shape => ({
      endpoint: 'GET api/tasks',
      method: 'GET',
      target: `/api/tasks${q.text}`,
      access: when(q.ok, 'any'),
    })),
    get: getId.map((i): Shape => ({
      endpoint: 'GET api/tasks/{id}',
      method: 'GET',
      target: `/api/tasks/${i.text}`,
      access: i.access,
    })),
    // Alice's own task has succeeded: cancelling it is a 409.
    cancel: fc.oneof(id, fc.constant({ text: fixture.aliceTask })).map((i): Shape => ({
      endpoint: 'DELETE api/tasks/{id}',
      method: 'DELETE',
      target: `/api/tasks/${i.text}`,
      access: 'none',
    })),
    result: getId.map((i): Shape => ({
      endpoint: 'GET api/tasks/{id}/result',
      method: 'GET',
      target: `/api/tasks/${i.text}/result`,
      access: i.access,
    })),
    events: fc.tuple(getId, listEventsQuery).map(([i, q]): Shape => ({
      endpoint: 'GET api/tasks/{id}/events',
      method: 'GET',
      target: `/api/tasks/${i.text}/events${q.text}`,
      access: when(q.ok, i.access),
      headers: { accept: 'application/json' },
    })),
    taskStream: fc
      .tuple(
        getId,
        fc.oneof(
          fc.constant(''),
          nastyShort.map((t) => `?token=${enc(t)}`),
          fc.constant('?token=&token=x'),
        ),
      )
      .map(([i, token]): Shape => ({
        endpoint: 'GET api/tasks/{id}/events (SSE)',
        method: 'GET',
        target: `/api/tasks/${i.text}/events${token}`,
        access: i.access,
        headers: sse,
      })),
    callerStream: fc
      .oneof(
        fc.constant(''),
        nastyShort.map((t) => `?token=${enc(t)}`),
        fc.constant(`?token=${'A'.repeat(2000)}`),
      )
      .map((token): Shape => ({
        endpoint: 'GET api/events (SSE)',
        method: 'GET',
        target: `/api/events${token}`,
        access: 'any',
        headers: sse,
      })),
    taskTypes: fc.constant<Shape>({
      endpoint: 'GET api/task-types',
      method: 'GET',
      target: '/api/task-types',
      access: 'any',
    }),
    publicGet: fc
      .constantFrom(
        '/api/openapi.json',
        '/api/health',
        '/api/health/ready',
        '/api/docs',
        '/api/docs/init.js',
        '/',
      )
      .map((target): Shape => ({ endpoint: `GET ${target}`, method: 'GET', target, access: 'public' })),
    // Not empty: `/api/docs/` is the Swagger UI page.
    docsFile: nastyShort
      .filter((f) => f !== '')
      .map((f): Shape => ({
        endpoint: 'GET api/docs/{file}',
        method: 'GET',
        target: `/api/docs/${enc(f)}`,
        access: 'none',
      })),
    ui: fc
      .tuple(
        fc.oneof(
          fc.constantFrom(...fixture.uiFiles).map(ok),
          nastyShort.filter((s) => !fixture.uiFiles.includes(s)).map((s) => bad(enc(s))),
          fc
            .constantFrom(
              '..%2F..%2Fpackage.json',
              '%2e%2e/%2e%2e/package.json',
              'x/../../host.json',
              '..%5Chost.json',
            )
            .map(bad),
        ),
        fc.constantFrom('GET', 'HEAD'),
      )
      .map(([f, method]): Shape => ({
        endpoint: `${method} ui/{*path}`,
        method,
        target: `/ui/${f.text}`,
        access: when(f.ok, 'public'),
      }))
      // `/ui/..` is the site root, which serves the UI page: not a request for a file.
      .filter((shape) => !resolvesDotSegments(shape.target)),
    wrongMethod: fc
      .tuple(
        fc.constantFrom(...API_GET_ROUTES, 'api/uploads', 'api/stream-tokens'),
        fc.constantFrom('PUT', 'PATCH', 'OPTIONS', 'HEAD', 'POST', 'DELETE'),
        id,
        anyBody,
      )
      .filter(([route, method]) => !isServed(route, method))
      .map(([route, method, i, body]): Shape => ({
        endpoint: `${method} ${route} (wrong method)`,
        method,
        target: `/${route.replace('{id}', i.text)}`,
        body: method === 'HEAD' ? undefined : body,
        access: 'none',
      })),
    // Alice and Bob are users: every admin endpoint is refused, and none may change anything.
    admin: fc
      .tuple(
        fc.constantFrom('GET stats', 'GET dead-letters', 'POST retry', 'DELETE dead-letter'),
        id,
        nastyShort,
        anyBody,
      )
      .map(([which, i, junk, body]): Shape => {
        const [method, name] = which.split(' ');
        const target = {
          stats: '/api/admin/stats',
          'dead-letters': `/api/admin/dead-letters?limit=${enc(junk)}`,
          retry: `/api/admin/tasks/${i.text}/retry`,
          'dead-letter': `/api/admin/dead-letters/${enc(junk) || '1'}`,
        }[name] as string;
        return {
          endpoint: `${method} api/admin/${name}`,
          method,
          target,
          body: method === 'POST' ? body : undefined,
          access: 'none',
        };
      }),
    unknownPath: fc
      .tuple(
        fc.array(nastyShort.map(enc), { minLength: 1, maxLength: 4 }),
        fc.constantFrom('api/', 'api/tasks/x/y/', 'x/', ''),
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      )
      .map(([segments, prefix, method]): Shape => ({
        endpoint: `${method} unknown path`,
        method,
        target: `/${prefix}${segments.join('/')}`,
        access: 'none',
      }))
      // Kept only when URL parsing leaves the path as written: `/api/..` would be the site root.
      .filter((shape) => !resolvesDotSegments(shape.target) && shape.target !== '/'),
  };
  return fc.oneof(
    { weight: 8, arbitrary: all.submit },
    { weight: 3, arbitrary: all.upload },
    { weight: 3, arbitrary: all.streamToken },
    { weight: 5, arbitrary: all.list },
    { weight: 3, arbitrary: all.get },
    { weight: 3, arbitrary: all.cancel },
    { weight: 2, arbitrary: all.result },
    { weight: 3, arbitrary: all.events },
    { weight: 2, arbitrary: all.taskStream },
    { weight: 1, arbitrary: all.callerStream },
    { weight: 1, arbitrary: all.taskTypes },
    { weight: 1, arbitrary: all.publicGet },
    { weight: 1, arbitrary: all.docsFile },
    { weight: 2, arbitrary: all.ui },
    { weight: 3, arbitrary: all.wrongMethod },
    { weight: 2, arbitrary: all.unknownPath },
    { weight: 2, arbitrary: all.admin },
  );
}

/**
 * Whether every path segment percent-decodes to UTF-8. Other paths reach the routes with the undecodable segment as it
 * came (as on Kestrel); hostile-raw.ts sends those.
 */
function pathDecodes(target: string): boolean {
  try {
    target
      .split('?')[0]
      .split('/')
      .forEach((segment) => decodeURIComponent(segment));
    return true;
  } catch {
    return false;
  }
}

/** Whether URL parsing changes the path (`..`, `.`, `%2e%2e` segments), so the request may land on another route. */
function resolvesDotSegments(target: string): boolean {
  const path = target.split('?')[0];
  try {
    return new URL(target, 'http://h').pathname !== path;
  } catch {
    // `//host…`: the path is read as an authority.
    return true;
  }
}

/** Whether functions/app/triggers.ts serves `method` on `route` (HEAD only on the UI's files). */
function isServed(route: string, method: string): boolean {
  if (route === 'api/uploads' || route === 'api/stream-tokens') return method === 'POST';
  if (route === 'api/tasks') return method === 'GET' || method === 'POST';
  if (route === 'api/tasks/{id}') return method === 'GET' || method === 'DELETE';
  return method === 'GET';
}

/**
 * False when a header alone makes the request fail: oversize headers (431), a CORS preflight (answered before
 * authentication), a malformed Last-Event-ID on a task stream.
 */
function headersAllowPass(headers: Record<string, string>, shape: Shape): boolean {
  // Over MAX_HEADER_BYTES for sure: the server also counts Host, the credential…, and trims values' blanks.
  const size = Object.entries(headers).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v) + 4,
    0,
  );
  if (size > 16_384 + 1_024) return false;
  if (shape.method === 'OPTIONS' && 'access-control-request-method' in headers) return false;
  const lastEventId = headers['last-event-id'];
  if (shape.endpoint === 'GET api/tasks/{id}/events (SSE)' && lastEventId !== undefined) {
    const trimmed = lastEventId.trim();
    const n = Number(trimmed);
    if (trimmed !== '' && !(Number.isInteger(n) && n >= 0)) return false;
  }
  return true;
}

function accessAllows(access: Access, who: Credential): boolean {
  switch (access) {
    case 'public':
      return true;
    case 'any':
      return who === 'alice' || who === 'bob';
    case 'alice':
      return who === 'alice';
    case 'none':
      return false;
  }
}

/** One hostile request for any endpoint, with a credential and hostile headers. */
export function hostileRequest(fixture: HostileFixture): fc.Arbitrary<HostileRequest> {
  return fc
    .tuple(
      shapes(fixture).filter((shape) => pathDecodes(shape.target)),
      credential,
      extraHeaders,
      oversizeHeader,
      contentType,
    )
    .map(([shape, who, extra, pad, bodyType]) => {
      const headers: Record<string, string> = { ...extra, ...pad, ...who.headers };
      if (shape.body !== undefined && extra['content-type'] === undefined) headers['content-type'] = bodyType;
      // The SSE URLs decide by Accept what they are; keep the one the shape is about.
      Object.assign(headers, shape.headers);
      // Where a resolved `..` lands is URL semantics, not the API's choice: a read may then succeed.
      const relanded = shape.method === 'GET' && resolvesDotSegments(shape.target);
      return {
        endpoint: shape.endpoint,
        method: shape.method,
        target: shape.target,
        headers,
        body: shape.body,
        credential: who.credential,
        keyHeader: who.keyHeader,
        mayPass: relanded || (accessAllows(shape.access, who.credential) && headersAllowPass(headers, shape)),
      };
    });
}
