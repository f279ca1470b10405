import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestError } from '@azure/storage-blob';
import { describeError } from '../../../functions/platform/describe-error';

type RestErrorOptions = NonNullable<ConstructorParameters<typeof RestError>[1]>;

/** The parts of a request a RestError keeps that describeError reads. */
const request = (method: string, url: string) => ({ method, url }) as RestErrorOptions['request'];

/**
 * A RestError as @azure/storage-blob throws it for a HEAD request (checked against Azurite in the checkpoint store's
 * test): no body, so no message and no parsed code; the code is only in the x-ms-error-code header.
 */
function headFailure(url: string, status: number, errorCode?: string): RestError {
  const headers = new Map(errorCode ? [['x-ms-error-code', errorCode]] : []);
  return new RestError('', {
    statusCode: status,
    request: request('HEAD', url),
    response: { status, headers } as unknown as RestErrorOptions['response'],
  });
}

describe('describeError', () => {
  it('keeps a message that says something', () => {
    assert.equal(describeError(new Error('disk full')), 'disk full');
    const rest = new RestError('The specified blob does not exist.', {
      statusCode: 404,
      code: 'BlobNotFound',
    });
    assert.equal(describeError(rest), 'The specified blob does not exist.');
    const withFieldErrors = Object.assign(new Error('input.steps: too big'), {
      errors: [{ path: 'input.steps', message: 'too big' }],
    });
    assert.equal(
      describeError(withFieldErrors),
      'input.steps: too big',
      'only an AggregateError lists inner errors',
    );
  });

  it('describes a RestError with an empty message by status, code, method and path, without the query (SAS)', () => {
    const err = headFailure(
      'https://acct.blob.core.windows.net/payloads/3f1c.json?sv=2024-11-04&sig=SECRETSIG',
      404,
      'BlobNotFound',
    );
    assert.equal(err.message, '');
    const text = describeError(err);
    assert.equal(text, 'HTTP 404 BlobNotFound on HEAD /payloads/3f1c.json');
    assert.ok(!text.includes('SECRETSIG'));
  });

  it('prefers the code the SDK parsed, and does without a code when there is none', () => {
    assert.equal(
      describeError(
        new RestError('', {
          statusCode: 409,
          code: 'LeaseAlreadyPresent',
          request: request('GET', 'http://127.0.0.1:1/a/b'),
        }),
      ),
      'HTTP 409 LeaseAlreadyPresent on GET /a/b',
    );
    assert.equal(describeError(headFailure('http://127.0.0.1:1/c/d', 500)), 'HTTP 500 on HEAD /c/d');
  });

  it('lists the inner errors of an AggregateError (connect to every address of localhost refused)', () => {
    const refused = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}:5432`), { code: 'ECONNREFUSED' });
    const both = Object.assign(new AggregateError([refused('::1'), refused('127.0.0.1')], ''), {
      code: 'ECONNREFUSED',
    });
    assert.equal(describeError(both), 'connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432');
    assert.equal(
      describeError(new AggregateError([new Error('a'), new Error('a')], 'All promises were rejected')),
      'All promises were rejected: a',
    );
  });

  it('uses a thrown non-Error as it is', () => {
    assert.equal(describeError('quota exceeded'), 'quota exceeded');
    assert.equal(describeError(42), '42');
    assert.equal(describeError(undefined), 'undefined');
    assert.equal(describeError({ message: 'from a plain object' }), 'from a plain object');
    assert.equal(describeError({ status: 503, reason: 'busy' }), '{"status":503,"reason":"busy"}');
  });

  it('is never empty', () => {
    assert.equal(describeError(''), 'an empty string was thrown');
    assert.equal(describeError('  '), 'an empty string was thrown');
    assert.equal(describeError(new Error()), 'Error (no message)');
    assert.equal(describeError(new TypeError('   ')), 'TypeError (no message)');
    assert.equal(describeError(Object.assign(new Error(''), { code: 'ECONNRESET' })), 'Error ECONNRESET');
    class QuietFailure extends Error {}
    assert.equal(describeError(new QuietFailure()), 'QuietFailure (no message)');
    assert.equal(describeError(new AggregateError([], '')), 'AggregateError (no message)');
  });
});
