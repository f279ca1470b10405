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
