import type { InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { appServices } from '../app-services';
import type { ServiceBusMessageActions } from '../trigger-types';
import { parseMessageBody, runSlice } from './run-slice';

const WebhookMessageSchema = z.object({ taskId: z.uuid(), webhook: z.number().int().min(1) });

/**
 * The Service Bus trigger on the tasks queue. It carries two kinds of small message: a slice of a task to run
 * (`{taskId, slice}`), and a completion webhook delivery to make (`{taskId, webhook: attempt}`).
 */
export async function processTaskMessage(
  message: unknown,
  context: InvocationContext,
  actions?: ServiceBusMessageActions,
): Promise<void> {
  const body = parseMessageBody(message);
  const webhook = WebhookMessageSchema.safeParse(body);
  if (!webhook.success) return runSlice(body, context, actions);
  await appServices().webhooks.deliver(webhook.data.taskId, webhook.data.webhook);
  await actions?.complete();
}
