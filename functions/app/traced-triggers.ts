import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { ROOT_CONTEXT, SpanStatusCode, type Context } from '@opentelemetry/api';
import { contextFromTraceparent, SpanKind, withSpan } from '../platform/tracing';
import type { HttpTrigger, ServiceBusTrigger, TimerTrigger, TriggerDefinition } from './trigger-types';

/**
 * The trigger with its invocations traced: a server span per HTTP request (continuing the caller's `traceparent`), a
 * consumer span per Service Bus message (a child of the span its `traceparent` or `Diagnostic-Id` names: the task's
 * submit, so a task is one trace), a span per timer run. Applied once to the trigger table, so every handler and both
 * hosts (Functions, local) get it.
 */
export function traced(trigger: TriggerDefinition): TriggerDefinition {
  switch (trigger.kind) {
    case 'http':
      return tracedHttp(trigger);
    case 'serviceBus':
      return tracedServiceBus(trigger);
    case 'timer':
      return tracedTimer(trigger);
  }
}

/** The Functions host's own trace context for the invocation, when it has one. */
function hostContext(context: InvocationContext): Context | undefined {
  return contextFromTraceparent(context.traceContext?.traceParent);
}

function tracedHttp(trigger: HttpTrigger): HttpTrigger {
  const route = `/${trigger.route}`;
  return {
    ...trigger,
    handler: (request: HttpRequest, context: InvocationContext) =>
      withSpan(
        `${request.method} ${route}`,
        {
          'http.request.method': request.method,
          'http.route': route,
          'url.path': new URL(request.url).pathname,
          'faas.trigger': 'http',
          'faas.invocation_id': context.invocationId,
        },
        async (span): Promise<HttpResponseInit> => {
          const response = await trigger.handler(request, context);
          const status = response.status ?? 200;
          span.setAttribute('http.response.status_code', status);
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
          return response;
        },
        {
          kind: SpanKind.SERVER,
          parent:
            contextFromTraceparent(request.headers.get('traceparent')) ??
            hostContext(context) ??
            ROOT_CONTEXT,
        },
      ),
  };
}

function tracedServiceBus(trigger: ServiceBusTrigger): ServiceBusTrigger {
  return {
    ...trigger,
    handler: (delivery, context) => {
      const properties = delivery.applicationProperties;
      return withSpan(
        `process ${trigger.name}`,
        {
          'messaging.system': 'servicebus',
          'messaging.operation.type': 'process',
          'messaging.message.id': delivery.messageId ?? '',
          'faas.trigger': 'pubsub',
          'faas.invocation_id': context.invocationId,
        },
        () => trigger.handler(delivery, context),
        {
          kind: SpanKind.CONSUMER,
          parent:
            contextFromTraceparent(properties.traceparent) ??
            contextFromTraceparent(properties['Diagnostic-Id']) ??
            hostContext(context) ??
            ROOT_CONTEXT,
        },
      );
    },
  };
}

function tracedTimer(trigger: TimerTrigger): TimerTrigger {
  return {
    ...trigger,
    handler: (timer, context) =>
      withSpan(
        trigger.name,
        { 'faas.trigger': 'timer', 'faas.invocation_id': context.invocationId },
        () => trigger.handler(timer, context),
        { parent: ROOT_CONTEXT },
      ),
  };
}
