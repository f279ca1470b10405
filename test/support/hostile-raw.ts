import fc from 'fast-check';

/**
 * Malformed HTTP/1.1 on the wire, which no HTTP client library writes: broken request lines, CR/LF/NUL in headers,
 * conflicting or lying framing, request smuggling shapes, oversize and missing headers. Only writes with an invalid
 * body carry a real key (so that the body is read at all), and what a smuggled second request asks for is public or
 * invalid, so none may change anything.
 */
export interface RawRequest {
  label: string;
  bytes: Buffer;
}

const CRLF = '\r\n';

/** A request line and header fields joined as on the wire; a string part is latin1, so any byte can be written. */
function wire(lines: Array<string | Buffer>, body: string | Buffer = ''): Buffer {
  const parts: Buffer[] = [];
  for (const line of lines)
    parts.push(Buffer.isBuffer(line) ? line : Buffer.from(line, 'latin1'), Buffer.from(CRLF));
  parts.push(Buffer.from(CRLF), Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1'));
  return Buffer.concat(parts);
}

const HOST = 'Host: 127.0.0.1';
const INVALID_SUBMIT = '{"type":"no-such-type","input":{}}';

const METHODS = ['GET', 'get', 'G ET', 'TRACE', 'PROPFIND', 'FOO', 'POST', 'DELETE', 'PUT', ''];
const TARGETS = [
  '/api/tasks',
  '/api/health',
  '*',
  'http://evil.example/api/health',
  '/api/tasks/../health',
  '/api/tasks/%2e%2e/%2e%2e/ui/../package.json',
  '/ui/../../package.json',
  '/ui/..%2f..%2fhost.json',
  '/api/ta sks',
  '/%E0%A4%A',
  '/api/tasks/%E0%A4%A',
  '/api/tasks/%C0%AF',
  '/api/%ED%A0%80',
  '/ui/%FF',
  '//api//tasks//',
  '',
  '/api/tasks?status=%',
  `/api/tasks/${'x'.repeat(40_000)}`,
];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/9', 'http/1.1', '', 'HTTP/1.1 extra'];

const requestLine = fc
  .tuple(
    fc.constantFrom(...METHODS),
    fc.oneof(
      fc.constantFrom(...TARGETS).map((t) => Buffer.from(t, 'latin1')),
      // Raw bytes in the path: UTF-8, not UTF-8, controls.
      fc
        .uint8Array({ minLength: 1, maxLength: 12 })
        .map((b) => Buffer.concat([Buffer.from('/api/tasks/'), Buffer.from(b)])),
    ),
    fc.constantFrom(...VERSIONS),
  )
  .map(([method, target, version]) => ({
    label: `request line ${method} ${target.toString('latin1').slice(0, 40)} ${version}`,
    bytes: wire([
      Buffer.concat([Buffer.from(`${method} `), target, Buffer.from(version ? ` ${version}` : '')]),
      HOST,
    ]),
  }));

/** Header sections that break HTTP/1.1's grammar or framing, on a submit (invalid body) or a read. */
const HEADER_ATTACKS: Array<[string, Array<string | Buffer>, string | Buffer]> = [
  ['bare CR in a value', ['X-Api-Key: a\rb'], ''],
  ['bare LF in a value', ['X-Test: a\nInjected: 1'], ''],
  ['NUL in a value', ['Idempotency-Key: a\u0000b'], INVALID_SUBMIT],
  ['CRLF header injection', ['Last-Event-ID: 1\r\nX-Injected: 1'], ''],
  ['space in a name', ['Bad Header: x'], ''],
  ['line without a colon', ['NoColon'], ''],
  ['empty name', [': x'], ''],
  ['obs-fold', ['X-Test: a', ' folded'], ''],
  ['two Content-Lengths', ['Content-Length: 5', 'Content-Length: 6'], '{}{}{}'],
  [
    'Content-Length and Transfer-Encoding',
    ['Content-Length: 4', 'Transfer-Encoding: chunked'],
    `0${CRLF}${CRLF}`,
  ],
  ['Transfer-Encoding: xchunked', ['Transfer-Encoding: xchunked'], `0${CRLF}${CRLF}`],
  ['Transfer-Encoding: chunked, identity', ['Transfer-Encoding: chunked, identity'], `0${CRLF}${CRLF}`],
  ['chunk size not hex', ['Transfer-Encoding: chunked'], `zz${CRLF}{}${CRLF}0${CRLF}${CRLF}`],
  [
    'chunk size overflow',
    ['Transfer-Encoding: chunked'],
    `ffffffffffffffffff${CRLF}{}${CRLF}0${CRLF}${CRLF}`,
  ],
  ['chunk longer than its size', ['Transfer-Encoding: chunked'], `2${CRLF}{"a":1}${CRLF}0${CRLF}${CRLF}`],
  ['chunked body cut off', ['Transfer-Encoding: chunked'], `10${CRLF}{"type":`],
  ['Content-Length: -1', ['Content-Length: -1'], '{}'],
  ['Content-Length: 1e3', ['Content-Length: 1e3'], '{}'],
  ['Content-Length: 2, 2', ['Content-Length: 2, 2'], '{}'],
  ['Content-Length larger than the body', ['Content-Length: 1000'], INVALID_SUBMIT],
  ['Content-Length huge, body cut off', [`Content-Length: ${2 ** 40}`], INVALID_SUBMIT],
  ['Expect: something', ['Expect: 200-maybe'], INVALID_SUBMIT],
  [
    'Upgrade: h2c',
    ['Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAAQAAP__'],
    '',
  ],
  ['header over 32 KiB', [`X-Pad: ${'p'.repeat(40_000)}`], ''],
  ['2000 small headers', Array.from({ length: 2_000 }, (_, i) => `X-H${i}: v`), ''],
  ['UTF-8 bytes in Idempotency-Key', [Buffer.from('Idempotency-Key: clé-😀')], INVALID_SUBMIT],
  ['control bytes in Last-Event-ID', ['Last-Event-ID: \u0001\u0002'], ''],
  [
    'invalid UTF-8 in X-Api-Key',
    [Buffer.concat([Buffer.from('X-Api-Key: '), Buffer.from([0xc3, 0x28, 0xff])])],
    '',
  ],
];

function headerAttack(key: string): fc.Arbitrary<RawRequest> {
  return fc
    .tuple(
      fc.constantFrom(...HEADER_ATTACKS),
      fc.constantFrom('POST /api/tasks', 'GET /api/tasks', 'POST /api/stream-tokens'),
      fc.boolean(),
    )
    .map(([[label, fields, body], line, withKey]) => {
      const post = line.startsWith('POST');
      const credential = post && withKey ? [`Authorization: Bearer ${key}`] : [];
      return {
        label: `${line}${credential.length ? ' with a key' : ''}: ${label}`,
        bytes: wire(
          [
            `${line} HTTP/1.1`,
            HOST,
            ...credential,
            ...(post ? ['Content-Type: application/json'] : []),
            ...fields,
          ],
          body,
        ),
      };
    });
}

/** No Host, two Hosts, a Host that is not one. */
const hostAttack = fc
  .constantFrom<Array<string>>(
    [],
    [HOST, 'Host: evil.example'],
    ['Host: a b'],
    ['Host: [::1'],
    ['Host: evil.example/%2e%2e'],
  )
  .map((hosts) => ({
    label: `Host fields ${JSON.stringify(hosts)}`,
    bytes: wire(['GET /api/health HTTP/1.1', ...hosts]),
  }));

/** A request whose body hides a second request (CL.0, a smuggled TE); what it asks for is public or invalid. */
const smuggled = fc
  .constantFrom(
    `GET /api/health HTTP/1.1${CRLF}${HOST}${CRLF}${CRLF}`,
    `POST /api/tasks HTTP/1.1${CRLF}${HOST}${CRLF}Content-Type: application/json${CRLF}Content-Length: ${INVALID_SUBMIT.length}${CRLF}${CRLF}${INVALID_SUBMIT}`,
    `GET /api/tasks/..%2f..%2fhealth HTTP/1.1${CRLF}${HOST}${CRLF}${CRLF}`,
  )
  .chain((inner) =>
    fc.constantFrom(
      {
        label: 'CL.0 smuggling',
        bytes: wire(['POST /api/tasks HTTP/1.1', HOST, 'Content-Length: 0'], inner),
      },
      {
        label: 'TE smuggling',
        bytes: wire(
          ['POST /api/tasks HTTP/1.1', HOST, 'Transfer-Encoding: chunked'],
          `0${CRLF}${CRLF}${inner}`,
        ),
      },
      {
        label: 'pipelined',
        bytes: Buffer.concat([wire(['GET /api/health HTTP/1.1', HOST]), Buffer.from(inner)]),
      },
    ),
  );

/** A malformed request; `key` (a real API key) goes only on writes whose body is invalid. */
export function rawRequest(key: string): fc.Arbitrary<RawRequest> {
  return fc.oneof(
    { weight: 3, arbitrary: requestLine },
    { weight: 4, arbitrary: headerAttack(key) },
    { weight: 1, arbitrary: hostAttack },
    { weight: 1, arbitrary: smuggled },
  );
}
