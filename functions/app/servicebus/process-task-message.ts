import type { InvocationContext } from '@azure/functions';
import { runSlice } from '../../engine/run-slice';
import { decodeMessage } from '../../model/messages';
import { appServices } from '../app-services';
import type { ServiceBusDelivery, ServiceBusMessageActions } from '../trigger-types';

/**
 * The Service Bus trigger on the tasks queue. It carries two kinds of small message: a slice of a task to run
 * (`{taskId, slice}`), and a completion webhook delivery to make (`{taskId, webhook: attempt}`).
 */
export async function processTaskMessage(
  delivery: ServiceBusDelivery,
  context: InvocationContext,
): Promise<void> {
  const decoded = decodeMessage(delivery.body);
  if (decoded.kind !== 'webhook') return runTaskSlice(delivery.body, context, delivery.actions);
  await appServices().webhooks.deliver(decoded.message.taskId, decoded.message.webhook);
  await delivery.actions?.complete();
}

/** One slice of a task, with the app's services, settling through the trigger's actions when there are any. */
export function runTaskSlice(
  body: unknown,
  context: InvocationContext,
  actions?: ServiceBusMessageActions,
): Promise<void> {
  return runSlice(appServices().engine, body, { invocationId: context.invocationId, settlement: actions });
}
