import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeaseLostError } from '../../../functions/storage/checkpoint-store';
import { isTransientError, withTransientRetry } from '../../../functions/platform/transient-retry';

const withCode = (code: string) => Object.assign(new Error(code), { code });
const withStatus = (statusCode: number) => Object.assign(new Error(String(statusCode)), { statusCode });

describe('transient retries inside the engine', () => {
  it('classifies network, throttling, 5xx and Postgres restart errors as transient, and nothing else', () => {
    for (const err of [
      withCode('ECONNRESET'),
      withCode('57P01'),
      withStatus(503),
      withStatus(429),
      new Error('Connection terminated unexpectedly'),
    ]) {
      assert.equal(isTransientError(err), true, err.message);
    }
    for (const err of [
      withStatus(412),
      withStatus(404),
      new LeaseLostError('t'),
      new TypeError('bug'),
      'text',
    ]) {
      assert.equal(isTransientError(err), false, String(err));
    }
  });

  it('retries a transient failure until it succeeds', async () => {
    let calls = 0;
    const result = await withTransientRetry(async () => {
      if (++calls < 3) throw withCode('ECONNRESET');
      return 'ok';
    });
    assert.equal(result, 'ok');
    assert.equal(calls, 3);
  });

  it('does not retry a lost lease or a bug', async () => {
    let calls = 0;
    await assert.rejects(
      withTransientRetry(async () => {
        calls++;
        throw new LeaseLostError('t');
      }),
      LeaseLostError,
    );
    assert.equal(calls, 1);
  });
});
