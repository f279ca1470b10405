import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { problem } from './responses';

export type BodyResult =
  { ok: true; value: unknown; bytes: Buffer } | { ok: false; response: HttpResponseInit };

/** Reads a JSON body without buffering more than `maxBytes`; refuses other media types, oversize and bad JSON. */
export async function readJsonBody(request: HttpRequest, maxBytes: number): Promise<BodyResult> {
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
  if (request.body) {
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > maxBytes) return { ok: false, response: tooLarge(maxBytes) };
      chunks.push(Buffer.from(chunk));
    }
  }
  const bytes = Buffer.concat(chunks);
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
