import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { redactSecrets } from '../../../functions/platform/redact';

/** Secrets of the real shapes, made up at test time: nothing real is ever committed. */
const b64 = (bytes: number) => randomBytes(bytes).toString('base64');
const b64url = (bytes: number) => randomBytes(bytes).toString('base64url');
const jwt = () =>
  [
    Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: b64url(8) })).toString('base64url'),
    Buffer.from(JSON.stringify({ oid: b64url(12), aud: 'api://longhaul', exp: 1 })).toString('base64url'),
    b64url(256),
  ].join('.');

/** Asserts the secret is gone from the redacted line and the rest of the line is still there. */
function assertRedacted(line: string, secret: string, kept: string[]): string {
  assert.ok(line.includes(secret), 'the sample holds the secret');
  const out = redactSecrets(line);
  assert.ok(!out.includes(secret), `${out} still holds the secret`);
  for (const text of kept) assert.ok(out.includes(text), `${out} lost ${text}`);
  return out;
}

describe('redactSecrets: removes credentials from log lines', () => {
  it('Bearer tokens in an Authorization header, whatever the token', () => {
    const token = b64url(40);
    const out = assertRedacted(`request headers: authorization: Bearer ${token}, accept: */*`, token, [
      'accept: */*',
    ]);
    assert.match(out, /Bearer REDACTED/);
  });

  it('Longhaul API keys (lh_ and 43 base64url characters), alone or as X-Api-Key', () => {
    const key = `lh_${b64url(32)}`;
    assertRedacted(`created key ${key} for alice`, key, ['created key', 'for alice']);
    assertRedacted(`x-api-key: ${key}`, key, ['x-api-key']);
    // A key's 8-character prefix is how operators find it; it is not a secret.
    assert.equal(redactSecrets('revoked lh_abcdefgh'), 'revoked lh_abcdefgh');
  });

  it('token=, sig= and code= query values, keeping the other parameters', () => {
    const token = `${b64url(24)}.${b64url(32)}`;
    const out = assertRedacted(`GET /api/tasks/t1/stream?after=3&token=${token} 200`, token, [
      'after=3',
      ' 200',
    ]);
    assert.match(out, /token=REDACTED/);
    const sig = encodeURIComponent(b64(32));
    assertRedacted(`PUT https://acct.blob.core.windows.net/uploads/u1?sv=2024-08-04&sp=cw&sig=${sig}`, sig, [
      'sv=2024-08-04',
      'sp=cw',
    ]);
    const code = b64url(30);
    assertRedacted(`callback /auth?code=${code}&state=xyz`, code, ['state=xyz']);
  });

  it('AccountKey=, SharedAccessKey= and Password= in connection strings', () => {
    const accountKey = b64(64);
    assertRedacted(
      `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${accountKey};EndpointSuffix=core.windows.net`,
      accountKey,
      ['AccountName=acct', 'EndpointSuffix=core.windows.net'],
    );
    const sasKey = b64(32);
    assertRedacted(
      `Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=${sasKey}`,
      sasKey,
      ['SharedAccessKeyName=Root'],
    );
    const password = b64url(18);
    assertRedacted(`Server=db;User Id=app;Password=${password};Database=x`, password, [
      'User Id=app',
      'Database=x',
    ]);
    assertRedacted(`host=db user=app password=${password} dbname=x`, password, ['dbname=x']);
  });

  it('user:password@ in URLs, also with an empty user name', () => {
    const password = b64url(18);
    assertRedacted(`connect postgres://app:${password}@db.example.net:5432/longhaul failed`, password, [
      'postgres://app:',
      '@db.example.net:5432/longhaul failed',
    ]);
    assertRedacted(`redis: rediss://:${password}@cache:6380`, password, ['@cache:6380']);
  });

  it('JWT-shaped strings anywhere in the line', () => {
    const token = jwt();
    assertRedacted(`entra: token ${token} has the wrong audience`, token, ['has the wrong audience']);
  });

  it('leaves lines without secrets as they are', () => {
    const line = "Executed 'getTask' (Succeeded, Id=3f1c, Duration=4ms) GET /api/tasks/abc?limit=20 200";
    assert.equal(redactSecrets(line), line);
  });
});
