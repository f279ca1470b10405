import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import { EntraTokens } from '../../../functions/auth/entra-tokens';
import { loadSettings, type EntraSettings } from '../../../functions/platform/settings';
import {
  API_CLIENT_ID,
  newSigningKey,
  signJwt,
  startMockEntra,
  TENANT_ID,
  type MockEntra,
} from '../../support/mock-entra';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { exportSPKI, SignJWT } = require('jose') as typeof Jose;

const CONNECTIONS = {
  ServiceBusConnection: 'Endpoint=sb://127.0.0.1;SharedAccessKeyName=a;SharedAccessKey=b;',
  TASKS_STORAGE: 'UseDevelopmentStorage=true',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/longhaul',
  REDIS_URL: 'redis://127.0.0.1:6379',
};

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Entra ID cannot run here: a local stand-in (test/support/mock-entra.ts) serves the tenant's key set over real HTTP
 * on 127.0.0.1, with keys made by jose for this run; the validator fetches it as it would Entra's.
 */
describe('Entra ID access tokens', () => {
  let entra: MockEntra;
  let settings: EntraSettings;
  let tokens: EntraTokens;
  const warnings: string[] = [];

  before(async () => {
    entra = await startMockEntra();
    settings = loadSettings({ ...CONNECTIONS, ...entra.settings }).entra as EntraSettings;
    tokens = new EntraTokens(settings, (m) => warnings.push(m));
  });
  after(() => entra?.close());

  it('accepts a genuine token: the caller is its oid, an admin with the Longhaul.Admin app role', async () => {
    assert.deepEqual(await tokens.verify(await entra.accessToken()), { owner: entra.user.oid, role: 'user' });
    assert.deepEqual(await tokens.verify(await entra.accessToken({ roles: ['Longhaul.Admin'] })), {
      owner: entra.user.oid,
      role: 'admin',
    });
    assert.deepEqual(await tokens.verify(await entra.accessToken({ roles: ['Other.Role'] })), {
      owner: entra.user.oid,
      role: 'user',
    });
    // Both forms Entra ID writes into `aud`: the Application ID URI and the bare client id.
    assert.equal(
      (await tokens.verify(await entra.accessToken({ aud: API_CLIENT_ID })))?.owner,
      entra.user.oid,
    );
    // An app-only token (client credentials) has no `scp`, but an app role.
    const appOnly = await entra.accessToken({ scp: undefined, roles: ['Longhaul.Admin'] });
    assert.equal((await tokens.verify(appOnly))?.role, 'admin');
    assert.deepEqual(warnings, []);
  });

  it('tolerates 60 s of clock skew, and no more', async () => {
    assert.ok(await tokens.verify(await entra.accessToken({}, { expiresIn: -30 })));
    assert.ok(await tokens.verify(await entra.accessToken({}, { notBefore: 30 })));
    assert.equal(await tokens.verify(await entra.accessToken({}, { expiresIn: -120 })), undefined);
    assert.equal(await tokens.verify(await entra.accessToken({}, { notBefore: 120 })), undefined);
  });

  it('refuses forged, foreign, expired and malformed tokens alike', async () => {
    const other = await newSigningKey();
    const genuine = await entra.accessToken();
    const [header, payload] = genuine.split('.');
    const publicPem = await exportSPKI(entra.key.pair.publicKey);
    const refused: Record<string, string> = {
      'another API': await entra.accessToken({ aud: 'api://another-app' }),
      'another tenant': await entra.accessToken({
        iss: 'https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0',
      }),
      'a v1.0 issuer': await entra.accessToken({ iss: `https://sts.windows.net/${TENANT_ID}/` }),
      'signed by another key under the known kid': await entra.accessToken(
        {},
        { key: other, kid: entra.key.kid },
      ),
      'an unknown kid': await entra.accessToken({}, { key: other }),
      'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      'HS256 keyed with the public key': await new SignJWT(
        JSON.parse(Buffer.from(payload, 'base64url').toString()),
      )
        .setProtectedHeader({ alg: 'HS256', kid: entra.key.kid })
        .sign(new TextEncoder().encode(publicPem)),
      'a tampered payload': `${header}.${b64({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), oid: 'someone-else' })}.${genuine.split('.')[2]}`,
      'no oid': await entra.accessToken({ oid: undefined }),
      'neither the scope nor an app role': await entra.accessToken({ scp: 'User.Read' }),
      'no exp': await signJwt(
        { iss: entra.issuer, aud: `api://${API_CLIENT_ID}`, oid: 'x', scp: 'access_as_user' },
        entra.key,
      ),
      'an empty string': '',
      'not a JWT': 'lh_not-a-jwt',
      'two parts': `${header}.${payload}`,
    };
    for (const [why, token] of Object.entries(refused)) {
      assert.equal(await tokens.verify(token), undefined, why);
    }
    assert.deepEqual(warnings, [], 'bad tokens are not worth a warning');
  });

  it('fetches the key set again for an unknown kid at most once per cool-down', async () => {
    const other = await newSigningKey();
    const before = entra.keySetFetches;
    for (let i = 0; i < 5; i++) {
      const token = await entra.accessToken({}, { key: other, kid: `unknown-${i}` });
      assert.equal(await tokens.verify(token), undefined);
    }
    assert.ok(entra.keySetFetches - before <= 1, `${entra.keySetFetches - before} fetches`);
  });

  it('refuses every token while the key set cannot be fetched, and warns without the token', async () => {
    const token = await entra.accessToken();
    entra.keySetDown = true;
    try {
      const fresh = new EntraTokens(settings, (m) => warnings.push(m));
      assert.equal(await fresh.verify(token), undefined);
    } finally {
      entra.keySetDown = false;
    }
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const unreachable = new EntraTokens(
      { ...settings, authorityHost: `http://127.0.0.1:${closedPort}` },
      (m) => warnings.push(m),
    );
    assert.equal(await unreachable.verify(token), undefined);
    assert.equal(warnings.length, 2);
    assert.match(
      warnings[0],
      new RegExp(`^entra: no signing keys from ${entra.url}/${TENANT_ID}/discovery/v2.0/keys`),
    );
    assert.match(warnings[1], /^entra: no signing keys from http:\/\/127\.0\.0\.1:\d+\//);
    for (const warning of warnings) assert.ok(!warning.includes(token.split('.')[1]), 'no token in the log');
    warnings.length = 0;
  });
});
