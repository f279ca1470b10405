import type { HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

export interface HttpTrigger {
  kind: 'http';
  name: string;
  /**
   * Functions route template, e.g. `api/tasks/{id}` or `{*path}` (catch-all, matched last). host.json's route prefix
   * is empty, so API routes carry `api/` themselves.
   */
  route: string;
  methods: HttpMethod[];
  handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
}

/** Settling a message by hand, as the Service Bus SDK binding allows (`sdkBinding: true`). */
export interface ServiceBusMessageActions {
  complete(): Promise<void>;
  abandon(propertiesToModify?: Record<string, unknown>): Promise<void>;
  deadLetter(reason: string, description?: string): Promise<void>;
  renewLock(): Promise<Date>;
}

export interface ServiceBusTrigger {
  kind: 'serviceBus';
  name: string;
  /** App setting prefix of the connection (`ServiceBusConnection`): a connection string or `__fullyQualifiedNamespace`. */
  connection: string;
  /** Queue name, or `%SETTING%` to read it from app settings. */
  queueName: string;
  /** True: the handler settles through `actions`. False: completed on success, abandoned when it throws. */
  sdkBinding?: boolean;
  handler: (
    message: unknown,
    context: InvocationContext,
    actions?: ServiceBusMessageActions,
  ) => Promise<void>;
}

export interface TimerTrigger {
  kind: 'timer';
  name: string;
  /** NCRONTAB with seconds (six fields: second minute hour day month weekday), or `%SETTING%`. */
  schedule: string;
  runOnStartup?: boolean;
  handler: (timer: Timer, context: InvocationContext) => Promise<void>;
}

export type TriggerDefinition = HttpTrigger | ServiceBusTrigger | TimerTrigger;
