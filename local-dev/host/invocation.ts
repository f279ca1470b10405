import { format } from 'node:util';
import { randomUUID } from 'node:crypto';
import { InvocationContext, type FunctionTrigger, type TriggerMetadata } from '@azure/functions';

export type LogSink = (line: string) => void;

/** How long shutdown waits for running invocations before it closes connections under them. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** A context like the Functions host's: a fresh invocation id, and `context.log` written to the host's log. */
export function newInvocationContext(
  functionName: string,
  log: LogSink,
  trigger: FunctionTrigger,
  triggerMetadata?: TriggerMetadata,
): InvocationContext {
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName,
    triggerMetadata,
    options: { trigger },
    logHandler: (level, ...args) => {
      const tag = level === 'information' ? '' : `[${level}] `;
      log(`${functionName}: ${tag}${format(...args)}`);
    },
  });
}

/** The summary line Core Tools writes after each invocation. */
export function logExecuted(
  log: LogSink,
  context: InvocationContext,
  startedAt: number,
  error?: unknown,
  detail = '',
): void {
  const outcome = error === undefined ? 'Succeeded' : 'Failed';
  const ms = Math.round(performance.now() - startedAt);
  log(
    `Executed '${context.functionName}' (${outcome}, Id=${context.invocationId}, Duration=${ms}ms)${detail}`,
  );
  if (error !== undefined) log(`${context.functionName}: ${describeError(error)}`);
}

export function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}

/**
 * host.json `functionTimeout`: past it the host fails the invocation ("Timeout value of … exceeded") and settles
 * the message as failed; the handler cannot be stopped from outside, but its lock token is gone, so it can settle
 * nothing more.
 */
export async function withFunctionTimeout<T>(work: Promise<T>, timeoutMs: number, name: string): Promise<T> {
  if (timeoutMs === Infinity) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timeout value of ${formatTimeSpan(timeoutMs)} exceeded by function '${name}'`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Milliseconds as host.json writes a time span, e.g. 00:15:00. */
function formatTimeSpan(ms: number): string {
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const fraction = ms % 1000 ? `.${String(ms % 1000).padStart(3, '0')}` : '';
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}${fraction}`;
}
