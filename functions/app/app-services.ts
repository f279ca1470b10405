import type { ServiceBusClient } from '@azure/service-bus';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { AdminService } from '../admin/admin-service';
import { Retention } from '../admin/retention';
import { ApiKeyStore } from '../auth/api-keys';
import { EntraTokens } from '../auth/entra-tokens';
import { SignalLinks } from '../auth/signal-links';
import { StreamTokens } from '../auth/stream-tokens';
import type { Authenticators } from '../auth/caller';
import { RateLimits } from '../auth/rate-limits';
import { OutboundPolicy } from '../outbound/address-policy';
import { OutboundClient } from '../outbound/outbound-client';
import {
  createBlobServiceClient,
  createServiceBusClient,
  createTableClient,
} from '../platform/azure-clients';
import { createPostgresPool } from '../platform/postgres-pool';
import { createLogger, type Log } from '../platform/logger';
import { createRedisClient } from '../platform/redis-client';
import { keyVaultSecretReader, secretSetting } from '../platform/secret-reference';
import { loadSettings, type Settings } from '../platform/settings';
import {
  NO_LIVE_EVENTS,
  RedisEventPublisher,
  type LiveEventPublisher,
} from '../events/redis-event-publisher';
import { eventChannels } from '../events/event-json';
import { SubscriptionHub } from '../events/subscription-hub';
import { AdminRepository } from '../storage/admin-repository';
import { BlobStore } from '../storage/blob-store';
import { CheckpointStore } from '../storage/checkpoint-store';
import { PostgresStepLedger } from '../storage/step-ledger-postgres';
import { QueueInspector } from '../messaging/queue-inspector';
import { TaskQueue } from '../messaging/task-queue';
import { TaskRepository } from '../storage/task-repository';
import { EventRepository } from '../storage/event-repository';
import { CallbackRepository } from '../storage/callback-repository';
import { TaskCatalog } from '../engine/catalog';
import { Dispatch, stallSeconds } from '../engine/dispatch';
import type { EnginePorts } from '../engine/ports';
import { datasetTask } from '../tasks/dataset/dataset';
import { scrapeTask } from '../tasks/scrape/scrape';
import { simulateTask } from '../tasks/simulate';
import { TaskService } from '../engine/task-service';
import { TaskActions } from '../engine/task-actions';
import { TaskSignals } from '../engine/task-signals';
import { approvalTask } from '../tasks/approval/approval';
import { TaskSteps } from '../engine/task-steps';
import { UploadUrls } from '../storage/upload-urls';
import { UploadService } from '../uploads/upload-service';
import { WebhookDelivery } from '../webhooks/webhook-delivery';
import { describeError } from '../platform/describe-error';

/** Sent with every outbound request (crawler, webhooks), so site owners can tell who calls. */
export const OUTBOUND_USER_AGENT = 'Longhaul/0.1 (+https://github.com/longhaul-dev/longhaul)';

/** Everything the handlers and triggers use, built once per process from the settings. */
export interface AppServices {
  settings: Settings;
  pool: Pool;
  serviceBus: ServiceBusClient;
  /** The app's one Redis client; absent with LOCAL_WITHOUT_REDIS. */
  redis?: () => Promise<Redis>;
  /** The process's one Redis subscriber, shared by every open event stream. */
  subscriptions: SubscriptionHub;
  blobs: BlobStore;
  checkpoints: CheckpointStore;
  queue: TaskQueue;
  repository: TaskRepository;
  taskEvents: EventRepository;
  callbacks: CallbackRepository;
  ledger: PostgresStepLedger;
  catalog: TaskCatalog;
  tasks: TaskService;
  /** Retry, rerun, and cancel or retry in bulk. */
  actions: TaskActions;
  /** A task's steps as the checkpoints and the history record them. */
  steps: TaskSteps;
  /** What the engine (slices, the sweeper) is given: the trigger adapters pass it in. */
  engine: EnginePorts;
  /** SSRF-safe outbound HTTP, for task code and webhooks. */
  outbound: OutboundClient;
  webhooks: WebhookDelivery;
  uploads: UploadService;
  /** API keys (AUTH_MODE=apikey), Entra ID access tokens (AUTH_MODE=entra) and stream tokens (both). */
  auth: Authenticators;
  signals: TaskSignals;
  /** Signed links that deliver one signal to one task (ctx.signalUrl). */
  signalLinks: SignalLinks;
  /** Per-caller request budgets (Redis); the active-task limit is checked by `tasks.submit`. */
  rateLimits: RateLimits;
  /** Operators' view and repairs (the admin API), and retention. */
  admin: AdminService;
  retention: Retention;
  /** Structured JSON lines (platform/logger.ts), redacted, at LOG_LEVEL and above. */
  log: Log;
  close(): Promise<void>;
}

let current: AppServices | undefined;

export function appServices(): AppServices {
  current ??= createAppServices(loadSettings(process.env));
  return current;
}

/** Closes the connections of the current services (the next call to appServices() builds new ones). */
export async function closeAppServices(): Promise<void> {
  const services = current;
  current = undefined;
  await services?.close();
}

export function createAppServices(settings: Settings): AppServices {
  const clientId = settings.azureClientId;
  const pool = createPostgresPool(settings.postgres, clientId);
  const serviceBus = createServiceBusClient(settings.serviceBus);
  const blobService = createBlobServiceClient(settings.storage);
  const blobs = new BlobStore(blobService);
  const checkpoints = new CheckpointStore(createTableClient(settings.storage, 'checkpoints'), blobs);
  const queue = new TaskQueue(serviceBus, settings.tasksQueue);
  const repository = new TaskRepository(pool);
  const taskEvents = new EventRepository(pool);
  const callbacks = new CallbackRepository(pool);
  const ledger = new PostgresStepLedger(pool);
  const log = createLogger(settings.logLevel);
  const dispatch = new Dispatch(queue, repository, log);
  const outboundPolicy = new OutboundPolicy({ allowPrivateHosts: settings.outboundAllowPrivateHosts });
  const outbound = new OutboundClient({ policy: outboundPolicy, userAgent: OUTBOUND_USER_AGENT });
  const catalog = new TaskCatalog([
    simulateTask(ledger),
    scrapeTask(outbound),
    datasetTask(blobs, { maxBytes: settings.maxUploadBytes }),
    approvalTask,
  ]);
  const secretReader = settings.keyVaultUrl
    ? keyVaultSecretReader(settings.keyVaultUrl, clientId)
    : undefined;
  const streamTokenSecret = secretSetting('STREAM_TOKEN_SECRET', settings.streamTokenSecret, secretReader);
  const signalLinks = new SignalLinks(streamTokenSecret, settings.publicBaseUrl);
  const webhooks = new WebhookDelivery({
    callbacks,
    dispatch,
    outbound,
    secret: secretSetting('WEBHOOK_SIGNING_SECRET', settings.webhooks.signingSecret, secretReader),
    maxAttempts: settings.webhooks.maxAttempts,
    retryBaseSeconds: settings.webhooks.retryBaseSeconds,
    log,
  });
  const redisSettings = settings.redis;
  let redisClient: Promise<Redis> | undefined;
  const redis =
    redisSettings &&
    (() =>
      (redisClient ??= createRedisClient(redisSettings, clientId, {
        maxRetriesPerRequest: 1,
        connectTimeout: 2_000,
      }).then((client) => {
        client.on('error', () => undefined);
        return client;
      })));
  const channels = eventChannels(settings.redisNamespace);
  const subscriptions = new SubscriptionHub(
    redisSettings &&
      (() =>
        createRedisClient(redisSettings, clientId, { maxRetriesPerRequest: null, connectTimeout: 2_000 })),
    channels,
  );
  const adminRepository = new AdminRepository(pool);
  const live = (owner: string, warn = (m: string) => log('warn', m)): LiveEventPublisher =>
    redis ? new RedisEventPublisher(redis, channels, owner, warn) : NO_LIVE_EVENTS;
  const tasks = new TaskService({
    repository,
    taskEvents,
    blobs,
    dispatch,
    catalog,
    webhooks,
    live,
    callbackPolicy: settings.webhooks.signingSecret ? outboundPolicy : undefined,
    dependencyTimeoutMs: settings.submitDependencyTimeoutMs,
  });
  // Pool errors on idle clients (a restarted server) must not crash the process; the next query reconnects.
  pool.on('error', (err) => log('warn', `postgres pool: ${describeError(err)}`));
  return {
    settings,
    pool,
    serviceBus,
    redis,
    subscriptions,
    blobs,
    checkpoints,
    queue,
    repository,
    taskEvents,
    callbacks,
    ledger,
    catalog,
    engine: {
      settings,
      tasks: repository,
      taskEvents,
      callbacks,
      checkpoints,
      blobs,
      dispatch,
      catalog,
      webhooks,
      live,
      signalLinks,
      log,
    },
    tasks,
    actions: new TaskActions({ tasks, repository, blobs, checkpoints, dispatch, live }),
    steps: new TaskSteps({ repository, checkpoints, taskEvents }),
    signals: new TaskSignals({ repository, catalog, dispatch, log }),
    outbound,
    webhooks,
    uploads: new UploadService({
      blobs,
      urls: new UploadUrls(blobService, settings.storage.kind === 'identity'),
      maxBytes: settings.maxUploadBytes,
    }),
    auth: {
      apiKeys: new ApiKeyStore(pool, secretSetting('API_KEY_PEPPER', settings.apiKeyPepper, secretReader)),
      streamTokens: new StreamTokens(streamTokenSecret),
      entraTokens: settings.entra && new EntraTokens(settings.entra, (message) => log('warn', message)),
    },
    signalLinks,
    rateLimits: new RateLimits(redis, settings.redisNamespace, settings.rateLimits, log),
    admin: new AdminService({
      repository,
      admin: adminRepository,
      checkpoints,
      inspector: new QueueInspector(() => createServiceBusClient(settings.serviceBus), settings.tasksQueue),
      queueName: settings.tasksQueue,
      stallSeconds: stallSeconds(settings),
    }),
    retention: new Retention({ admin: adminRepository, blobs, checkpoints, log }),
    log,
    close: async () => {
      outbound.close();
      await queue.close().catch(() => undefined);
      await serviceBus.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      if (redisClient) (await redisClient.catch(() => undefined))?.disconnect();
      await subscriptions.close();
    },
  };
}
