import { z } from 'zod';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const positiveNumber = (fallback: number) => z.coerce.number().positive().finite().default(fallback);
const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : undefined));
const optionalUrl = optionalText.pipe(z.url().optional());

/** Every setting the app reads (design §5), by its app-setting name. */
const settingsSchema = z.object({
  ServiceBusConnection: optionalText,
  ServiceBusConnection__fullyQualifiedNamespace: optionalText,
  ServiceBusConnection__clientId: optionalText,
  TASKS_QUEUE: z.string().trim().min(1).default('tasks'),
  TASKS_STORAGE: optionalText,
  TASKS_STORAGE__blobServiceUri: optionalUrl,
  TASKS_STORAGE__tableServiceUri: optionalUrl,
  TASKS_STORAGE__clientId: optionalText,
  DATABASE_URL: optionalText,
  PGHOST: optionalText,
  PGPORT: z.coerce.number().int().min(1).max(65535).default(5432),
  PGUSER: optionalText,
  PGPASSWORD: optionalText,
  PGDATABASE: optionalText,
  PGSSLMODE: optionalText,
  REDIS_URL: optionalText,
  REDIS_HOST: optionalText,
  REDIS_PORT: z.coerce.number().int().min(1).max(65535).default(6380),
  REDIS_USERNAME: optionalText,
  REDIS_PASSWORD: optionalText,
  REDIS_NAMESPACE: optionalText.pipe(
    z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
        'letters, digits, `_`, `.` or `-`, at most 64, starting with a letter or digit',
      )
      .default('longhaul'),
  ),
  LOCAL_WITHOUT_REDIS: z
    .enum(['true', 'false', ''])
    .default('')
    .transform((v) => v === 'true'),
  AZURE_CLIENT_ID: optionalText,
  KEY_VAULT_URL: optionalUrl,
  APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText,
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  AUTH_MODE: z.enum(['none', 'apikey', 'entra']).default('none'),
  ALLOW_UNAUTHENTICATED: z
    .enum(['true', 'false', ''])
    .default('')
    .transform((v) => v === 'true'),
  API_KEY_PEPPER: optionalText,
  STREAM_TOKEN_SECRET: optionalText,
  ENTRA_TENANT_ID: optionalText,
  ENTRA_CLIENT_ID: optionalText,
  ENTRA_AUDIENCE: optionalText,
  ENTRA_AUTHORITY_HOST: optionalUrl,
  ENTRA_UI_CLIENT_ID: optionalText,
  ENTRA_API_SCOPE: optionalText,
  OUTBOUND_ALLOW_PRIVATE_HOSTS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
    ),
  WEBHOOK_SIGNING_SECRET: optionalText,
  WEBHOOK_MAX_ATTEMPTS: positiveInt(8),
  WEBHOOK_RETRY_BASE_SECONDS: positiveInt(10),
  // Read-only settings the Azure platform sets: their presence means the app runs in Azure.
  WEBSITE_INSTANCE_ID: optionalText,
  WEBSITE_OWNER_NAME: optionalText,
  // Fractions too: a test cuts a fast CPU-bound task into several slices whatever the machine's speed.
  SLICE_BUDGET_SECONDS: positiveNumber(480),
  HEARTBEAT_SECONDS: positiveInt(15),
  LEASE_SECONDS: positiveInt(60),
  SSE_MAX_SECONDS: z.coerce.number().int().positive().max(225).default(180),
  MAX_PAYLOAD_BYTES: positiveInt(10 * 1024 * 1024),
  MAX_UPLOAD_BYTES: positiveInt(4 * 1024 ** 3),
  // Azure's front end (Kestrel) refuses more than 32 KiB of headers before the app sees them; so does the local host.
  MAX_HEADER_BYTES: z.coerce.number().int().positive().max(32768).default(16384),
  MAX_JSON_DEPTH: positiveInt(32),
  CORS_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    ),
  RETRY_MAX_ATTEMPTS: positiveInt(5),
  RETRY_BASE_SECONDS: positiveInt(5),
  SWEEP_UNSENT_SECONDS: positiveInt(60),
  // A task taken over (or re-driven by the sweeper) more often than this fails with takeover_limit (a poison task).
  MAX_TAKEOVERS: positiveInt(10),
  // Once ctx.signal fires, a step has this long to stop before the slice abandons it (its result is then refused).
  STEP_ABORT_GRACE_SECONDS: positiveNumber(10),
  // Where the API is reached from outside, for the links ctx.signalUrl hands out (unset: paths).
  PUBLIC_BASE_URL: optionalUrl,
  // Each dependency call of a submit (Postgres, Blob, the send) waits at most this long (docs/reliability.md).
  SUBMIT_DEPENDENCY_TIMEOUT_MS: positiveInt(5000),
  // Retention (docs/operations.md#retention): finished tasks older than RETENTION_DAYS are deleted; 0 keeps them all.
  RETENTION_DAYS: z.coerce.number().int().min(0).default(30),
  RETENTION_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(500),
  // Per-caller limits (docs/security.md#rate-limits); 0 turns one off. The two per-minute limits count in Redis over
  // RATE_LIMIT_WINDOW_SECONDS, which only tests shorten; the active tasks are counted in Postgres at each submit.
  RATE_LIMIT_SUBMITS_PER_MINUTE: z.coerce.number().int().min(0).default(60),
  RATE_LIMIT_READS_PER_MINUTE: z.coerce.number().int().min(0).default(1200),
  MAX_ACTIVE_TASKS_PER_CALLER: z.coerce.number().int().min(0).default(20),
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().positive().max(3600).default(60),
});

type RawSettings = z.output<typeof settingsSchema>;

/** A connection given either as a connection string or as identity-based endpoints (Functions' convention). */
export type ServiceBusSettings =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; fullyQualifiedNamespace: string; clientId?: string };

export type StorageSettings =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; blobServiceUri: string; tableServiceUri: string; clientId?: string };

export type PostgresSettings =
  | { kind: 'url'; url: string }
  | {
      kind: 'params';
      host: string;
      port: number;
      user: string;
      database: string;
      password?: string;
      ssl: boolean;
    };

export type RedisSettings =
  | { kind: 'url'; url: string }
  | { kind: 'host'; host: string; port: number; username?: string; password?: string };

export interface Settings {
  serviceBus: ServiceBusSettings;
  tasksQueue: string;
  storage: StorageSettings;
  postgres: PostgresSettings;
  /** Absent with LOCAL_WITHOUT_REDIS: no live pub/sub (streams poll Postgres), rate limits counted in the process. */
  redis?: RedisSettings;
  /**
   * What starts every Redis channel and key the app uses (REDIS_NAMESPACE), so that deployments sharing one Redis
   * neither see each other's events nor spend each other's rate limits.
   */
  redisNamespace: string;
  /** Client id of the user-assigned identity the SDK clients use in Azure, if any. */
  azureClientId?: string;
  keyVaultUrl?: string;
  telemetry: { applicationInsightsConnectionString?: string; otlpEndpoint?: string };
  /** The least severe log lines written (LOG_LEVEL). */
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  authMode: 'none' | 'apikey' | 'entra';
  /** HMAC key for API key hashes, or an `@kv:<name>` reference; required with AUTH_MODE=apikey. */
  apiKeyPepper?: string;
  /** HMAC key for SSE stream tokens, or an `@kv:<name>` reference; required with AUTH_MODE=apikey or entra. */
  streamTokenSecret?: string;
  /** Microsoft Entra ID access tokens (AUTH_MODE=entra only). */
  entra?: EntraSettings;
  outboundAllowPrivateHosts: string[];
  /** Whether the app runs in Azure (as opposed to locally). */
  deployed: boolean;
  webhooks: {
    /** The HMAC key, or an `@kv:<name>` Key Vault reference; webhooks are off without one. */
    signingSecret?: string;
    maxAttempts: number;
    retryBaseSeconds: number;
  };
  sliceBudgetSeconds: number;
  heartbeatSeconds: number;
  leaseSeconds: number;
  sseMaxSeconds: number;
  maxPayloadBytes: number;
  /** Largest file a client may upload to Blob storage through POST /api/uploads. */
  maxUploadBytes: number;
  /** Largest header section a request may have (431 beyond). */
  maxHeaderBytes: number;
  /** Deepest nesting of arrays and objects a JSON body may have (400 beyond). */
  maxJsonDepth: number;
  /** Browser origins the API answers CORS requests from; empty (the default) turns CORS off. */
  corsAllowedOrigins: string[];
  retryMaxAttempts: number;
  retryBaseSeconds: number;
  /** A queued task whose message has not left after this long is sent again by the sweeper. */
  sweepUnsentSeconds: number;
  maxTakeovers: number;
  stepAbortGraceSeconds: number;
  /** Where the API is reached from outside (signal links), without a trailing slash. */
  publicBaseUrl?: string;
  /**
   * How long a submit waits for each dependency call: past it the API answers 503 (a Postgres or Blob call: nothing
   * accepted, or a row the sweeper sends) or 202 with the send left to the sweeper.
   */
  submitDependencyTimeoutMs: number;
  /** Finished tasks older than `days` (0: never) are deleted, `batchSize` per transaction. */
  retention: { days: number; batchSize: number };
  rateLimits: RateLimitSettings;
}

/** Per-caller limits; 0 turns one off. */
export interface RateLimitSettings {
  /** POST /api/tasks and POST /api/uploads per window. */
  submits: number;
  /** Every other authenticated request per window. */
  reads: number;
  windowSeconds: number;
  /** Queued and running tasks a caller may have at once. */
  activeTasks: number;
}

export interface EntraSettings {
  tenantId: string;
  /** The API's app registration. */
  clientId: string;
  /** The `aud` values accepted: ENTRA_AUDIENCE, else `api://<clientId>` and `<clientId>`. */
  audiences: string[];
  /** `https://login.microsoftonline.com`, or a national cloud's; no trailing slash. */
  authorityHost: string;
  /** The SPA registration the web UI signs in with. */
  uiClientId: string;
  /** The delegated scope the UI asks for, e.g. `api://<clientId>/access_as_user`. */
  apiScope: string;
}

/** A setting that is missing or malformed; its message is one line naming the setting. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** Reads and checks every setting; throws a SettingsError naming the first one at fault. */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SettingsError(`Setting ${issue.path.join('.')}: ${issue.message}`);
  }
  const s = parsed.data;
  const deployed = Boolean(s.WEBSITE_INSTANCE_ID ?? s.WEBSITE_OWNER_NAME);
  if (deployed && s.OUTBOUND_ALLOW_PRIVATE_HOSTS.length > 0) {
    throw new SettingsError(
      'Setting OUTBOUND_ALLOW_PRIVATE_HOSTS: refused when deployed (it is for local development and tests only)',
    );
  }
  if (deployed && s.AUTH_MODE === 'none' && !s.ALLOW_UNAUTHENTICATED) {
    throw new SettingsError(
      'Setting AUTH_MODE: none is refused when deployed (set ALLOW_UNAUTHENTICATED=true to mean it)',
    );
  }
  checkCorsOrigins(s.CORS_ALLOWED_ORIGINS, s.AUTH_MODE);
  if (s.AUTH_MODE === 'apikey') {
    // Browsers need stream tokens to open the SSE URLs, so both keys come together.
    for (const name of ['API_KEY_PEPPER', 'STREAM_TOKEN_SECRET'] as const) {
      if (!s[name]) throw new SettingsError(`Setting ${name}: required with AUTH_MODE=apikey`);
    }
  }
  const entra = s.AUTH_MODE === 'entra' ? entraOf(s) : undefined;
  for (const name of ['WEBHOOK_SIGNING_SECRET', 'API_KEY_PEPPER', 'STREAM_TOKEN_SECRET'] as const) {
    if (s[name]?.startsWith('@kv:') && !s.KEY_VAULT_URL) {
      throw new SettingsError(`Setting ${name}: an @kv: reference needs KEY_VAULT_URL`);
    }
  }
  return {
    serviceBus: serviceBusOf(s),
    tasksQueue: s.TASKS_QUEUE,
    storage: storageOf(s),
    postgres: postgresOf(s),
    redis: s.LOCAL_WITHOUT_REDIS ? withoutRedis(s, deployed) : redisOf(s),
    redisNamespace: s.REDIS_NAMESPACE,
    azureClientId: s.AZURE_CLIENT_ID,
    keyVaultUrl: s.KEY_VAULT_URL,
    telemetry: {
      applicationInsightsConnectionString: s.APPLICATIONINSIGHTS_CONNECTION_STRING,
      otlpEndpoint: s.OTEL_EXPORTER_OTLP_ENDPOINT,
    },
    logLevel: s.LOG_LEVEL,
    authMode: s.AUTH_MODE,
    apiKeyPepper: s.API_KEY_PEPPER,
    streamTokenSecret: s.STREAM_TOKEN_SECRET,
    entra,
    outboundAllowPrivateHosts: s.OUTBOUND_ALLOW_PRIVATE_HOSTS,
    deployed,
    webhooks: {
      signingSecret: s.WEBHOOK_SIGNING_SECRET,
      maxAttempts: s.WEBHOOK_MAX_ATTEMPTS,
      retryBaseSeconds: s.WEBHOOK_RETRY_BASE_SECONDS,
    },
    sliceBudgetSeconds: s.SLICE_BUDGET_SECONDS,
    heartbeatSeconds: s.HEARTBEAT_SECONDS,
    leaseSeconds: s.LEASE_SECONDS,
    sseMaxSeconds: s.SSE_MAX_SECONDS,
    maxPayloadBytes: s.MAX_PAYLOAD_BYTES,
    maxUploadBytes: s.MAX_UPLOAD_BYTES,
    maxHeaderBytes: s.MAX_HEADER_BYTES,
    maxJsonDepth: s.MAX_JSON_DEPTH,
    corsAllowedOrigins: s.CORS_ALLOWED_ORIGINS,
    retryMaxAttempts: s.RETRY_MAX_ATTEMPTS,
    retryBaseSeconds: s.RETRY_BASE_SECONDS,
    sweepUnsentSeconds: s.SWEEP_UNSENT_SECONDS,
    maxTakeovers: s.MAX_TAKEOVERS,
    stepAbortGraceSeconds: s.STEP_ABORT_GRACE_SECONDS,
    publicBaseUrl: s.PUBLIC_BASE_URL?.replace(/\/+$/, ''),
    submitDependencyTimeoutMs: s.SUBMIT_DEPENDENCY_TIMEOUT_MS,
    retention: { days: s.RETENTION_DAYS, batchSize: s.RETENTION_BATCH_SIZE },
    rateLimits: {
      submits: s.RATE_LIMIT_SUBMITS_PER_MINUTE,
      reads: s.RATE_LIMIT_READS_PER_MINUTE,
      windowSeconds: s.RATE_LIMIT_WINDOW_SECONDS,
      activeTasks: s.MAX_ACTIVE_TASKS_PER_CALLER,
    },
  };
}

function entraOf(s: RawSettings): EntraSettings {
  // Browsers need stream tokens to open the SSE URLs, as with API keys.
  for (const name of ['ENTRA_TENANT_ID', 'ENTRA_CLIENT_ID', 'STREAM_TOKEN_SECRET'] as const) {
    if (!s[name]) throw new SettingsError(`Setting ${name}: required with AUTH_MODE=entra`);
  }
  const tenantId = s.ENTRA_TENANT_ID as string;
  const clientId = s.ENTRA_CLIENT_ID as string;
  // Tokens name their tenant by id in `iss`, whatever name signed in; and one tenant, not `common` or `organizations`.
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(tenantId)) {
    throw new SettingsError("Setting ENTRA_TENANT_ID: must be the tenant's id (a GUID)");
  }
  const host = new URL(s.ENTRA_AUTHORITY_HOST ?? 'https://login.microsoftonline.com');
  // Plain HTTP only for a local stand-in of Entra ID (tests); anything else would let the signing keys be forged.
  if (host.protocol !== 'https:' && !(host.protocol === 'http:' && isLoopback(host.hostname))) {
    throw new SettingsError('Setting ENTRA_AUTHORITY_HOST: must be an https:// URL');
  }
  return {
    tenantId,
    clientId,
    audiences: s.ENTRA_AUDIENCE ? [s.ENTRA_AUDIENCE] : [`api://${clientId}`, clientId],
    authorityHost: host.origin,
    uiClientId: s.ENTRA_UI_CLIENT_ID ?? clientId,
    apiScope: s.ENTRA_API_SCOPE ?? `api://${clientId}/access_as_user`,
  };
}

const isLoopback = (hostname: string) =>
  hostname === 'localhost' || hostname === '[::1]' || hostname.startsWith('127.');

/**
 * Exact origins only (scheme, host, port: what browsers send in Origin). `*` needs authentication: without it, any web
 * page a visitor opens could drive the unauthenticated API through the visitor's browser; with it, credentials are
 * explicit headers that a foreign page cannot obtain, so `*` is a reasonable choice for a public API.
 */
function checkCorsOrigins(origins: string[], authMode: RawSettings['AUTH_MODE']): void {
  for (const origin of origins) {
    if (origin === '*') {
      if (authMode === 'none') {
        throw new SettingsError('Setting CORS_ALLOWED_ORIGINS: * is refused with AUTH_MODE=none');
      }
      continue;
    }
    let parsed: string | undefined;
    try {
      parsed = new URL(origin).origin;
    } catch {
      parsed = undefined;
    }
    if (parsed !== origin) {
      throw new SettingsError(
        `Setting CORS_ALLOWED_ORIGINS: ${origin} is not an origin (scheme://host[:port], no path or trailing slash)`,
      );
    }
  }
}

function serviceBusOf(s: RawSettings): ServiceBusSettings {
  if (s.ServiceBusConnection) return { kind: 'connectionString', connectionString: s.ServiceBusConnection };
  if (s.ServiceBusConnection__fullyQualifiedNamespace) {
    return {
      kind: 'identity',
      fullyQualifiedNamespace: s.ServiceBusConnection__fullyQualifiedNamespace,
      clientId: s.ServiceBusConnection__clientId,
    };
  }
  throw new SettingsError(
    'Setting ServiceBusConnection: required (a connection string, or ServiceBusConnection__fullyQualifiedNamespace)',
  );
}

function storageOf(s: RawSettings): StorageSettings {
  if (s.TASKS_STORAGE) return { kind: 'connectionString', connectionString: s.TASKS_STORAGE };
  if (s.TASKS_STORAGE__blobServiceUri && s.TASKS_STORAGE__tableServiceUri) {
    return {
      kind: 'identity',
      blobServiceUri: s.TASKS_STORAGE__blobServiceUri,
      tableServiceUri: s.TASKS_STORAGE__tableServiceUri,
      clientId: s.TASKS_STORAGE__clientId,
    };
  }
  throw new SettingsError(
    'Setting TASKS_STORAGE: required (a connection string, or TASKS_STORAGE__blobServiceUri and TASKS_STORAGE__tableServiceUri)',
  );
}

function postgresOf(s: RawSettings): PostgresSettings {
  if (s.DATABASE_URL) {
    if (!/^postgres(ql)?:\/\//.test(s.DATABASE_URL)) {
      throw new SettingsError('Setting DATABASE_URL: must be a postgres:// URL');
    }
    return { kind: 'url', url: s.DATABASE_URL };
  }
  if (s.PGHOST && s.PGUSER && s.PGDATABASE) {
    return {
      kind: 'params',
      host: s.PGHOST,
      port: s.PGPORT,
      user: s.PGUSER,
      database: s.PGDATABASE,
      password: s.PGPASSWORD,
      ssl: s.PGSSLMODE !== 'disable',
    };
  }
  throw new SettingsError('Setting DATABASE_URL: required (or PGHOST, PGUSER and PGDATABASE)');
}

/** LOCAL_WITHOUT_REDIS: the local stack on a machine with no Redis; a deployment always has one (infra/). */
function withoutRedis(s: RawSettings, deployed: boolean): undefined {
  if (deployed)
    throw new SettingsError(
      'Setting LOCAL_WITHOUT_REDIS: refused when deployed (it is for local development only)',
    );
  if (s.REDIS_URL || s.REDIS_HOST)
    throw new SettingsError('Setting LOCAL_WITHOUT_REDIS: set it or REDIS_URL/REDIS_HOST, not both');
  return undefined;
}

function redisOf(s: RawSettings): RedisSettings {
  if (s.REDIS_URL) {
    if (!/^rediss?:\/\//.test(s.REDIS_URL))
      throw new SettingsError('Setting REDIS_URL: must be a redis:// URL');
    return { kind: 'url', url: s.REDIS_URL };
  }
  if (s.REDIS_HOST) {
    return {
      kind: 'host',
      host: s.REDIS_HOST,
      port: s.REDIS_PORT,
      username: s.REDIS_USERNAME,
      password: s.REDIS_PASSWORD,
    };
  }
  throw new SettingsError('Setting REDIS_URL: required (or REDIS_HOST)');
}
