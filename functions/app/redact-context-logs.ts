import { format } from 'node:util';
import type { InvocationContext } from '@azure/functions';
import { redactSecrets } from '../platform/redact';

const CONTEXT_LEVELS = ['log', 'trace', 'debug', 'info', 'warn', 'error'] as const;

/**
 * Makes an invocation's `context.log` & co. redact what they write. Under the Functions host those lines go to the host
 * (and Application Insights) without passing through the app's own log, so functions/index.ts applies this to every
 * invocation in a pre-invocation hook.
 */
export function redactContextLogs(context: InvocationContext): void {
  for (const level of CONTEXT_LEVELS) {
    const write = context[level].bind(context);
    context[level] = (...args: unknown[]) => write(redactSecrets(format(...args)));
  }
}
