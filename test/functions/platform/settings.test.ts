import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadSettings, SettingsError } from '../../../functions/platform/settings';

const minimal = {
  ServiceBusConnection:
    'Endpoint=sb://127.0.0.1:5673;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=true;',
  TASKS_STORAGE: 'UseDevelopmentStorage=true',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/longhaul',
  REDIS_URL: 'redis://127.0.0.1:6379',
};

const failure = (env: Record<string, string>) => {
  try {
    loadSettings(env);
  } catch (err) {
    assert.ok(err instanceof SettingsError);
    assert.doesNotMatch(err.message, /\n/, 'one line');
    return err.message;
  }
  assert.fail('expected a SettingsError');
};

describe('settings', () => {
  it('reads connection strings and applies the design defaults', () => {
    const s = loadSettings(minimal);
    assert.equal(s.serviceBus.kind, 'connectionString');
    assert.equal(s.storage.kind, 'connectionString');
    assert.deepEqual(s.postgres, { kind: 'url', url: minimal.DATABASE_URL });
    assert.equal(s.tasksQueue, 'tasks');
    assert.equal(s.authMode, 'none');
    assert.deepEqual(s.outboundAllowPrivateHosts, []);
    assert.deepEqual(
      [
        s.sliceBudgetSeconds,
        s.heartbeatSeconds,
        s.leaseSeconds,
        s.sseMaxSeconds,
        s.maxPayloadBytes,
        s.retryMaxAttempts,
        s.retryBaseSeconds,
      ],
      [480, 15, 60, 180, 10 * 1024 * 1024, 5, 5],
    );
    assert.equal(loadSettings({ ...minimal, SLICE_BUDGET_SECONDS: '0.25' }).sliceBudgetSeconds, 0.25);
  });

  it('selects managed identity from the Functions identity-based settings', () => {
    const s = loadSettings({
      ServiceBusConnection__fullyQualifiedNamespace: 'sb-x.servicebus.windows.net',
      ServiceBusConnection__clientId: 'client-1',
      TASKS_STORAGE__blobServiceUri: 'https://st.blob.core.windows.net',
      TASKS_STORAGE__tableServiceUri: 'https://st.table.core.windows.net',
      PGHOST: 'pg.postgres.database.azure.com',
      PGUSER: 'id-api',
      PGDATABASE: 'longhaul',
      REDIS_HOST: 'redis.redis.cache.windows.net',
      OUTBOUND_ALLOW_PRIVATE_HOSTS: 'localhost:8080, 10.0.0.5',
    });
    assert.deepEqual(s.serviceBus, {
      kind: 'identity',
      fullyQualifiedNamespace: 'sb-x.servicebus.windows.net',
      clientId: 'client-1',
    });
    assert.equal(s.storage.kind, 'identity');
    assert.equal(s.postgres.kind, 'params');
    assert.equal(s.postgres.kind === 'params' && s.postgres.password, undefined, 'an Entra token stands in');
    assert.deepEqual(s.redis, {
      kind: 'host',
      host: 'redis.redis.cache.windows.net',
      port: 6380,
      username: undefined,
      password: undefined,
    });
    assert.deepEqual(s.outboundAllowPrivateHosts, ['localhost:8080', '10.0.0.5']);
  });

  it('stops with one line naming a missing setting', () => {
    const { TASKS_STORAGE: _omit, ...withoutStorage } = minimal;
    assert.match(failure(withoutStorage), /^Setting TASKS_STORAGE: required/);
    const { DATABASE_URL: _db, ...withoutDb } = minimal;
    assert.match(failure(withoutDb), /^Setting DATABASE_URL: required/);
    const { ServiceBusConnection: _sb, ...withoutSb } = minimal;
    assert.match(failure(withoutSb), /^Setting ServiceBusConnection: required/);
  });

  it('stops with one line naming a malformed setting', () => {
    assert.match(failure({ ...minimal, SLICE_BUDGET_SECONDS: 'soon' }), /^Setting SLICE_BUDGET_SECONDS:/);
    assert.match(failure({ ...minimal, SLICE_BUDGET_SECONDS: '0' }), /^Setting SLICE_BUDGET_SECONDS:/);
    assert.match(failure({ ...minimal, HEARTBEAT_SECONDS: '1.5' }), /^Setting HEARTBEAT_SECONDS:/);
    assert.match(failure({ ...minimal, AUTH_MODE: 'open' }), /^Setting AUTH_MODE:/);
    assert.match(failure({ ...minimal, KEY_VAULT_URL: 'not a url' }), /^Setting KEY_VAULT_URL:/);
    assert.match(
      failure({ ...minimal, DATABASE_URL: 'mysql://x' }),
      /^Setting DATABASE_URL: must be a postgres/,
    );
    assert.match(failure({ ...minimal, SSE_MAX_SECONDS: '300' }), /^Setting SSE_MAX_SECONDS:/);
  });

  it('webhooks are off without a signing key; attempts and backoff have defaults', () => {
    const s = loadSettings(minimal);
    assert.deepEqual(s.webhooks, { signingSecret: undefined, maxAttempts: 8, retryBaseSeconds: 10 });
    assert.equal(s.deployed, false);
    assert.match(
      failure({ ...minimal, WEBHOOK_SIGNING_SECRET: '@kv:webhook-key' }),
      /^Setting WEBHOOK_SIGNING_SECRET: an @kv: reference needs KEY_VAULT_URL/,
    );
  });

  it('rate limits have defaults, 0 turns one off, and a negative one is refused', () => {
    assert.deepEqual(loadSettings(minimal).rateLimits, {
      submits: 60,
      reads: 1200,
      windowSeconds: 60,
      activeTasks: 20,
    });
    const off = loadSettings({
      ...minimal,
      RATE_LIMIT_SUBMITS_PER_MINUTE: '0',
      RATE_LIMIT_READS_PER_MINUTE: '0',
      MAX_ACTIVE_TASKS_PER_CALLER: '0',
    });
    assert.deepEqual(off.rateLimits, { submits: 0, reads: 0, windowSeconds: 60, activeTasks: 0 });
    assert.match(
      failure({ ...minimal, MAX_ACTIVE_TASKS_PER_CALLER: '-1' }),
      /^Setting MAX_ACTIVE_TASKS_PER_CALLER:/,
    );
    assert.match(
      failure({ ...minimal, RATE_LIMIT_WINDOW_SECONDS: '0' }),
      /^Setting RATE_LIMIT_WINDOW_SECONDS:/,
    );
  });

  it('LOCAL_WITHOUT_REDIS runs without Redis locally; refused with a Redis setting or when deployed', () => {
    const { REDIS_URL: _redis, ...noRedis } = minimal;
    assert.equal(loadSettings({ ...noRedis, LOCAL_WITHOUT_REDIS: 'true' }).redis, undefined);
    assert.equal(failure(noRedis), 'Setting REDIS_URL: required (or REDIS_HOST)');
    assert.equal(
      failure({ ...minimal, LOCAL_WITHOUT_REDIS: 'true' }),
      'Setting LOCAL_WITHOUT_REDIS: set it or REDIS_URL/REDIS_HOST, not both',
    );
    assert.match(
      failure({
        ...noRedis,
        LOCAL_WITHOUT_REDIS: 'true',
        WEBSITE_INSTANCE_ID: 'i',
        ALLOW_UNAUTHENTICATED: 'true',
      }),
      /^Setting LOCAL_WITHOUT_REDIS: refused when deployed/,
    );
  });

  it('REDIS_NAMESPACE starts channels and keys: `longhaul` unless set; no glob or separator characters', () => {
    assert.equal(loadSettings(minimal).redisNamespace, 'longhaul');
    assert.equal(loadSettings({ ...minimal, REDIS_NAMESPACE: '' }).redisNamespace, 'longhaul');
    assert.equal(loadSettings({ ...minimal, REDIS_NAMESPACE: ' dev-2.eu_w ' }).redisNamespace, 'dev-2.eu_w');
    for (const bad of ['dev*', 'dev:1', 'a?', '[ab]', '-dev', 'x'.repeat(65)]) {
      assert.match(
        failure({ ...minimal, REDIS_NAMESPACE: bad }),
        /^Setting REDIS_NAMESPACE: letters, digits/,
        bad,
      );
    }
  });

  it('OUTBOUND_ALLOW_PRIVATE_HOSTS is refused when the app runs in Azure', () => {
    const inAzure = {
      ...minimal,
      WEBSITE_INSTANCE_ID: 'abc123',
      AUTH_MODE: 'apikey',
      API_KEY_PEPPER: 'p',
      STREAM_TOKEN_SECRET: 's',
    };
    assert.equal(loadSettings(inAzure).deployed, true);
    assert.match(
      failure({ ...inAzure, OUTBOUND_ALLOW_PRIVATE_HOSTS: '127.0.0.1:8080' }),
      /^Setting OUTBOUND_ALLOW_PRIVATE_HOSTS: refused when deployed/,
    );
  });

  it('AUTH_MODE=none is refused when deployed unless ALLOW_UNAUTHENTICATED=true; apikey needs a pepper', () => {
    assert.equal(loadSettings(minimal).authMode, 'none');
    const inAzure = { ...minimal, WEBSITE_INSTANCE_ID: 'abc123', AUTH_MODE: 'none' };
    assert.match(failure(inAzure), /^Setting AUTH_MODE: none is refused when deployed/);
    assert.equal(loadSettings({ ...inAzure, ALLOW_UNAUTHENTICATED: 'true' }).authMode, 'none');
    assert.match(failure({ ...minimal, AUTH_MODE: 'apikey' }), /^Setting API_KEY_PEPPER: required/);
    assert.match(
      failure({ ...minimal, AUTH_MODE: 'apikey', API_KEY_PEPPER: 'pepper' }),
      /^Setting STREAM_TOKEN_SECRET: required/,
    );
    const s = loadSettings({
      ...minimal,
      AUTH_MODE: 'apikey',
      API_KEY_PEPPER: 'pepper',
      STREAM_TOKEN_SECRET: 'k',
    });
    assert.equal(s.apiKeyPepper, 'pepper');
    assert.equal(s.streamTokenSecret, 'k');
    assert.match(
      failure({ ...minimal, STREAM_TOKEN_SECRET: '@kv:stream-token-secret' }),
      /^Setting STREAM_TOKEN_SECRET: an @kv: reference needs KEY_VAULT_URL/,
    );
  });

  it('AUTH_MODE=entra needs one tenant, the API app and a stream token secret; the rest has defaults', () => {
    const tenant = '0b7c3e2a-6f1d-4c9e-9a55-3d2f1e0c4b8a';
    const entra = {
      ...minimal,
      AUTH_MODE: 'entra',
      ENTRA_TENANT_ID: tenant,
      ENTRA_CLIENT_ID: 'api-app',
      STREAM_TOKEN_SECRET: 'k',
    };
    for (const name of ['ENTRA_TENANT_ID', 'ENTRA_CLIENT_ID', 'STREAM_TOKEN_SECRET']) {
      assert.equal(failure({ ...entra, [name]: '' }), `Setting ${name}: required with AUTH_MODE=entra`);
    }
    assert.deepEqual(loadSettings(entra).entra, {
      tenantId: tenant,
      clientId: 'api-app',
      audiences: ['api://api-app', 'api-app'],
      authorityHost: 'https://login.microsoftonline.com',
      uiClientId: 'api-app',
      apiScope: 'api://api-app/access_as_user',
    });
    assert.deepEqual(
      loadSettings({
        ...entra,
        ENTRA_AUDIENCE: 'https://longhaul.example.com',
        ENTRA_AUTHORITY_HOST: 'https://login.microsoftonline.us/',
        ENTRA_UI_CLIENT_ID: 'spa-app',
        ENTRA_API_SCOPE: 'https://longhaul.example.com/Tasks.ReadWrite',
      }).entra,
      {
        tenantId: tenant,
        clientId: 'api-app',
        audiences: ['https://longhaul.example.com'],
        authorityHost: 'https://login.microsoftonline.us',
        uiClientId: 'spa-app',
        apiScope: 'https://longhaul.example.com/Tasks.ReadWrite',
      },
    );
    for (const tenantId of ['common', 'organizations', 'contoso.onmicrosoft.com']) {
      assert.match(failure({ ...entra, ENTRA_TENANT_ID: tenantId }), /^Setting ENTRA_TENANT_ID: must be/);
    }
    assert.match(
      failure({ ...entra, ENTRA_AUTHORITY_HOST: 'http://login.example.com' }),
      /^Setting ENTRA_AUTHORITY_HOST: must be an https:\/\/ URL/,
    );
    assert.equal(
      loadSettings({ ...entra, ENTRA_AUTHORITY_HOST: 'http://127.0.0.1:4000' }).entra?.authorityHost,
      'http://127.0.0.1:4000',
      'plain HTTP for a local stand-in only',
    );
    assert.equal(loadSettings(minimal).entra, undefined, 'no Entra settings in other modes');
  });

  it('HTTP hardening: header and JSON depth limits have defaults; CORS is off, exact origins only, * needs auth', () => {
    const s = loadSettings(minimal);
    assert.deepEqual([s.maxHeaderBytes, s.maxJsonDepth, s.corsAllowedOrigins], [16384, 32, []]);
    assert.match(failure({ ...minimal, MAX_HEADER_BYTES: '65536' }), /^Setting MAX_HEADER_BYTES:/);
    const origins = loadSettings({
      ...minimal,
      CORS_ALLOWED_ORIGINS: ' https://app.example.com, http://localhost:5173',
    });
    assert.deepEqual(origins.corsAllowedOrigins, ['https://app.example.com', 'http://localhost:5173']);
    for (const bad of ['https://app.example.com/', 'app.example.com', 'https://app.example.com/path']) {
      assert.match(
        failure({ ...minimal, CORS_ALLOWED_ORIGINS: bad }),
        /^Setting CORS_ALLOWED_ORIGINS: .* is not an origin/,
      );
    }
    assert.match(
      failure({ ...minimal, CORS_ALLOWED_ORIGINS: '*' }),
      /^Setting CORS_ALLOWED_ORIGINS: \* is refused/,
    );
    const apikey = { ...minimal, AUTH_MODE: 'apikey', API_KEY_PEPPER: 'p', STREAM_TOKEN_SECRET: 's' };
    assert.deepEqual(loadSettings({ ...apikey, CORS_ALLOWED_ORIGINS: '*' }).corsAllowedOrigins, ['*']);
  });

  it('local.settings.example.json lists every setting the schema reads', () => {
    const example = JSON.parse(
      readFileSync(join(__dirname, '../../../../local.settings.example.json'), 'utf8'),
    ) as {
      Values: Record<string, string>;
    };
    for (const name of [
      'ServiceBusConnection',
      'TASKS_QUEUE',
      'TASKS_STORAGE',
      'DATABASE_URL',
      'REDIS_URL',
      'REDIS_NAMESPACE',
      'LOCAL_WITHOUT_REDIS',
      'KEY_VAULT_URL',
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'AUTH_MODE',
      'OUTBOUND_ALLOW_PRIVATE_HOSTS',
      'SLICE_BUDGET_SECONDS',
      'HEARTBEAT_SECONDS',
      'LEASE_SECONDS',
      'SSE_MAX_SECONDS',
      'MAX_PAYLOAD_BYTES',
      'MAX_UPLOAD_BYTES',
      'RETRY_MAX_ATTEMPTS',
      'RETRY_BASE_SECONDS',
      'RETENTION_DAYS',
      'RETENTION_BATCH_SIZE',
      'WEBHOOK_SIGNING_SECRET',
      'WEBHOOK_MAX_ATTEMPTS',
      'WEBHOOK_RETRY_BASE_SECONDS',
      'API_KEY_PEPPER',
      'STREAM_TOKEN_SECRET',
      'ALLOW_UNAUTHENTICATED',
    ]) {
      assert.ok(name in example.Values, name);
    }
    assert.doesNotThrow(() => loadSettings(example.Values), 'the example is a valid local configuration');
  });
});
