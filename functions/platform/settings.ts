import { z } from 'zod';

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
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
  AZURE_CLIENT_ID: optionalText,
  KEY_VAULT_URL: optionalUrl,
  APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText,
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  AUTH_MODE: z.enum(['none', 'apikey', 'entra']).default('none'),
  ALLOW_UNAUTHENTICATED: z
    .enum(['true', 'false', ''])
    .default('')
    .transform((v) => v === 'true'),
  API_KEY_PEPPER: optionalText,
  STREAM_TOKEN_SECRET: optionalText,
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
  SLICE_BUDGET_SECONDS: positiveInt(480),
  HEARTBEAT_SECONDS: positiveInt(15),
  LEASE_SECONDS: positiveInt(60),
  SSE_MAX_SECONDS: z.coerce.number().int().positive().max(225).default(180),
  MAX_PAYLOAD_BYTES: positiveInt(10 * 1024 * 1024),
  MAX_UPLOAD_BYTES: positiveInt(4 * 1024 ** 3),
  RETRY_MAX_ATTEMPTS: positiveInt(5),
  RETRY_BASE_SECONDS: positiveInt(5),
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
  redis: RedisSettings;
  /** Client id of the user-assigned identity the SDK clients use in Azure, if any. */
  azureClientId?: string;
  keyVaultUrl?: string;
  telemetry: { applicationInsightsConnectionString?: string; otlpEndpoint?: string };
  authMode: 'none' | 'apikey' | 'entra';
  /** HMAC key for API key hashes, or an `@kv:<name>` reference; required with AUTH_MODE=apikey. */
  apiKeyPepper?: string;
  /** HMAC key for SSE stream tokens, or an `@kv:<name>` reference; required with AUTH_MODE=apikey. */
  streamTokenSecret?: string;
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
  retryMaxAttempts: number;
  retryBaseSeconds: number;
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
  if (s.AUTH_MODE === 'apikey') {
    // Browsers need stream tokens to open the SSE URLs, so both keys come together.
    for (const name of ['API_KEY_PEPPER', 'STREAM_TOKEN_SECRET'] as const) {
      if (!s[name]) throw new SettingsError(`Setting ${name}: required with AUTH_MODE=apikey`);
    }
  }
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
    redis: redisOf(s),
    azureClientId: s.AZURE_CLIENT_ID,
    keyVaultUrl: s.KEY_VAULT_URL,
    telemetry: {
      applicationInsightsConnectionString: s.APPLICATIONINSIGHTS_CONNECTION_STRING,
      otlpEndpoint: s.OTEL_EXPORTER_OTLP_ENDPOINT,
    },
    authMode: s.AUTH_MODE,
    apiKeyPepper: s.API_KEY_PEPPER,
    streamTokenSecret: s.STREAM_TOKEN_SECRET,
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
    retryMaxAttempts: s.RETRY_MAX_ATTEMPTS,
    retryBaseSeconds: s.RETRY_BASE_SECONDS,
  };
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
