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

/**
 * Settling a message by hand, as the Service Bus SDK-type binding allows (`sdkBinding: true`): the calls go to the
 * Functions host, which holds the message's lock.
 */
export interface ServiceBusMessageActions {
  complete(): Promise<void>;
  abandon(propertiesToModify?: Record<string, unknown>): Promise<void>;
  deadLetter(reason: string, description?: string): Promise<void>;
  renewLock(): Promise<void>;
}

/** One message as a Service Bus trigger's handler sees it, whichever binding delivered it. */
export interface ServiceBusDelivery {
  /** The body as the binding hands it over: parsed JSON, a string, or bytes. */
  body: unknown;
  messageId?: string;
  applicationProperties: Record<string, unknown>;
  /** Only with `sdkBinding`; without it the host settles (complete on success, abandon on a throw). */
  actions?: ServiceBusMessageActions;
}

export interface ServiceBusTrigger {
  kind: 'serviceBus';
  name: string;
  /** App setting prefix of the connection (`ServiceBusConnection`): a connection string or `__fullyQualifiedNamespace`. */
  connection: string;
  /** Queue name, or `%SETTING%` to read it from app settings. */
  queueName: string;
  /**
   * True: registered with the SDK-type binding (`@azure/functions-extensions-servicebus`), and the handler settles
   * through `actions`; host.json must then turn `autoCompleteMessages` off. False: the standard binding.
   */
  sdkBinding?: boolean;
  handler: (delivery: ServiceBusDelivery, context: InvocationContext) => Promise<void>;
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
