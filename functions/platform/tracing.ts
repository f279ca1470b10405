import {
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { redactSecrets } from './redact';
import { describeError } from './describe-error';

export { SpanKind };

/**
 * The app's span attributes: on every span of a task's work, so one query finds a task's trace, slice or step. Values
 * stay small (ids and counters): attributes are never serialized payloads.
 */
export const ATTR = {
  taskId: 'longhaul.task.id',
  taskType: 'longhaul.task.type',
  slice: 'longhaul.slice',
  attempt: 'longhaul.attempt',
  step: 'longhaul.step',
  /** On the first slice's span: milliseconds from submit to the slice starting (exact percentiles in App Insights). */
  queueWaitMs: 'longhaul.queue_wait_ms',
} as const;

/**
 * The tracer of the current global provider, never one kept from module load: the Azure Monitor distro replaces the
 * global provider as it starts, and a tracer of the one before would stay a no-op.
 */
let current: { provider: TracerProvider; tracer: Tracer } | undefined;
function tracer(): Tracer {
  const provider = trace.getTracerProvider();
  if (current?.provider !== provider) current = { provider, tracer: provider.getTracer('longhaul') };
  return current.tracer;
}

export interface SpanOptions {
  kind?: SpanKind;
  /** Default: the active context. */
  parent?: Context;
}

/**
 * Runs `fn` in a new span, active for everything `fn` awaits, and ends it when `fn` settles; a throw marks the span as
 * failed (message redacted) and is rethrown. With telemetry off the API's no-op tracer makes this a plain call.
 */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T> | T,
  options: SpanOptions = {},
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer().startSpan(name, { kind: options.kind, attributes }, parent);
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await fn(span);
    } catch (err) {
      recordFailure(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Marks a span failed with the error's name and redacted message (never its payload). */
function recordFailure(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  const message = redactSecrets(describeError(err));
  span.recordException({ name: err instanceof Error ? err.name : 'Error', message });
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** Adds attributes to the active span (the trigger's span, from code that learns a task's id later). */
export function annotateActiveSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** The active span's context as a W3C `traceparent`, or undefined when there is none (telemetry off). */
export function activeTraceparent(): string | undefined {
  const span = trace.getActiveSpan();
  const sc = span?.spanContext();
  if (!sc || !isSpanContextValid(sc)) return undefined;
  const flags = (sc.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  return `00-${sc.traceId}-${sc.spanId}-${flags}`;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/**
 * A context whose parent is the remote span a W3C `traceparent` names (an HTTP header, a message's application
 * property); undefined when the value is missing or malformed. Parsed here rather than by the global propagator, so
 * it works whichever propagators the telemetry mode registers.
 */
export function contextFromTraceparent(value: unknown): Context | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!match || match[1] === 'ff') return undefined;
  const spanContext = {
    traceId: match[2],
    spanId: match[3],
    traceFlags: parseInt(match[4], 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : undefined;
}

/** HTTP agents whose requests are traced by their client itself (one span per hop), not by the http instrumentation. */
const selfTracedAgents = new WeakSet<object>();

export function markSelfTraced(agent: object): void {
  selfTracedAgents.add(agent);
}

/** For the http instrumentation's ignore hook: a request made through a self-traced agent. */
export function isSelfTracedRequest(options: { agent?: unknown }): boolean {
  return typeof options.agent === 'object' && options.agent !== null && selfTracedAgents.has(options.agent);
}
