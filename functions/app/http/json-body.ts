import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { problem } from './responses';

export type BodyResult =
  { ok: true; value: unknown; bytes: Buffer } | { ok: false; response: HttpResponseInit };

/**
 * Reads a JSON body without buffering more than `maxBytes`; refuses other media types, oversize, nesting deeper than
 * `maxDepth` (MAX_JSON_DEPTH, which handlers get bound in their scope's `readJson`) and bad JSON.
 */
export async function readJsonBody(
  request: HttpRequest,
  maxBytes: number,
  maxDepth: number,
): Promise<BodyResult> {
  const contentType = request.headers.get('content-type') ?? '';
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  if (mediaType !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(mediaType)) {
    return {
      ok: false,
      response: problem(
        415,
        'unsupported-media-type',
        'The request body must be JSON (Content-Type: application/json).',
        {
          field: 'content-type',
        },
      ),
    };
  }
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) return { ok: false, response: tooLarge(maxBytes) };
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    if (request.body) {
      for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
        size += chunk.byteLength;
        if (size > maxBytes) return { ok: false, response: tooLarge(maxBytes) };
        chunks.push(Buffer.from(chunk));
      }
    }
  } catch {
    // The client closed the connection or broke the framing before the body's end: its fault, not a server error.
    return {
      ok: false,
      response: problem(400, 'incomplete-body', 'The request body ended before it was complete.', {
        field: 'body',
      }),
    };
  }
  const bytes = Buffer.concat(chunks);
  if (jsonDepth(bytes, maxDepth) > maxDepth) {
    return {
      ok: false,
      response: problem(
        400,
        'json-too-deep',
        `The request body nests arrays and objects deeper than ${maxDepth}.`,
        {
          field: 'body',
          maxDepth,
        },
      ),
    };
  }
  try {
    return { ok: true, value: JSON.parse(bytes.toString('utf8')), bytes };
  } catch (err) {
    return {
      ok: false,
      response: problem(
        400,
        'malformed-json',
        `The request body is not valid JSON: ${(err as Error).message}`,
        {
          field: 'body',
        },
      ),
    };
  }
}

function tooLarge(maxBytes: number): HttpResponseInit {
  return problem(413, 'payload-too-large', `The request body is larger than ${maxBytes} bytes.`, {
    field: 'body',
    maxBytes,
  });
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = new Set([0x5b, 0x7b]); // [ {
const CLOSE = new Set([0x5d, 0x7d]); // ] }

/**
 * How deep arrays and objects nest in a JSON text, counted on the raw bytes and stopping as soon as it passes `limit`.
 * It runs before JSON.parse, so a 10 MiB `[[[[…` is refused in one linear pass without building millions of nested
 * arrays that every later recursive walk (validation, JSON.stringify when the input is stored) would overflow the stack
 * on. Brackets inside strings do not count; UTF-8 continuation bytes never equal these ASCII ones. Malformed text is
 * left to JSON.parse to reject.
 */
export function jsonDepth(bytes: Uint8Array, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (OPEN.has(byte)) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (CLOSE.has(byte)) {
      depth--;
    }
  }
  return deepest;
}
