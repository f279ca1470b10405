import type { InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { appServices } from '../app-services';
import type { ServiceBusDelivery } from '../trigger-types';
import { parseMessageBody, runSlice } from '../../engine/run-slice';

const WebhookMessageSchema = z.object({ taskId: z.uuid(), webhook: z.number().int().min(1) });

/**
 * The Service Bus trigger on the tasks queue. It carries two kinds of small message: a slice of a task to run
 * (`{taskId, slice}`), and a completion webhook delivery to make (`{taskId, webhook: attempt}`).
 */
export async function processTaskMessage(
  delivery: ServiceBusDelivery,
  context: InvocationContext,
): Promise<void> {
  const body = parseMessageBody(delivery.body);
  const webhook = WebhookMessageSchema.safeParse(body);
  if (!webhook.success) return runSlice(body, context, delivery.actions);
  await appServices().webhooks.deliver(webhook.data.taskId, webhook.data.webhook);
  await delivery.actions?.complete();
}
