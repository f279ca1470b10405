import type { SignalLinks } from '../auth/signal-links';
import type { LiveEventPublisher } from '../events/redis-event-publisher';
import type { Log } from '../platform/logger';
import type { Settings } from '../platform/settings';
import type { BlobStore } from '../storage/blob-store';
import type { CallbackRepository } from '../storage/callback-repository';
import type { CheckpointStore } from '../storage/checkpoint-store';
import type { EventRepository } from '../storage/event-repository';
import type { TaskRepository } from '../storage/task-repository';
import type { WebhookDelivery } from '../webhooks/webhook-delivery';
import type { TaskCatalog } from './catalog';
import type { Dispatch } from './dispatch';

/**
 * What the engine (slices and the sweeper) is given by the composition root (app/app-services.ts): each port is only
 * the part of its adapter the engine calls, so tests can hand it in-memory fakes (test/support/engine-fakes.ts).
 */
export interface EnginePorts {
  settings: Pick<
    Settings,
    | 'leaseSeconds'
    | 'heartbeatSeconds'
    | 'sliceBudgetSeconds'
    | 'retryMaxAttempts'
    | 'retryBaseSeconds'
    | 'sweepUnsentSeconds'
    | 'maxTakeovers'
    | 'stepAbortGraceSeconds'
  >;
  tasks: Pick<
    TaskRepository,
    | 'find'
    | 'markRunning'
    | 'heartbeat'
    | 'isCancelRequested'
    | 'updateProgress'
    | 'finish'
    | 'staleQueued'
    | 'staleRunning'
    | 'oldestQueued'
    | 'suspend'
    | 'signal'
    | 'overdueWaiting'
    | 'markRedriven'
  >;
  taskEvents: Pick<EventRepository, 'append' | 'page' | 'lastSeq'>;
  callbacks: Pick<CallbackRepository, 'takeOverdue'>;
  checkpoints: Pick<
    CheckpointStore,
    | 'acquire'
    | 'leaseState'
    | 'renew'
    | 'release'
    | 'saveState'
    | 'replay'
    | 'commitStep'
    | 'startWait'
    | 'resolveWait'
  >;
  signalLinks: Pick<SignalLinks, 'url'>;
  blobs: Pick<BlobStore, 'getJson' | 'putJson'>;
  dispatch: Pick<Dispatch, 'send' | 'enqueue' | 'wake'>;
  catalog: Pick<TaskCatalog, 'get'>;
  webhooks: Pick<WebhookDelivery, 'announce' | 'resend'>;
  /** Live fan-out of a task owner's events; `warn` hears about publishes that failed. */
  live: (owner: string, warn: (message: string) => void) => LiveEventPublisher;
  log: Log;
}

/** How the engine settles the message that started a slice (the Service Bus trigger's actions, adapted by the app). */
export interface MessageSettlement {
  complete(): Promise<void>;
  deadLetter(reason: string, description: string): Promise<void>;
}
