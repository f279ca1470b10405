import { z } from 'zod';

/** The small message that tells a worker to run one slice of a task (the payload stays in Blob). */
export const SliceMessageSchema = z.object({
  taskId: z.uuid(),
  slice: z.number().int().min(0),
  /** 1 for the first attempt; a retry after a transient failure is attempt + 1. */
  attempt: z.number().int().min(1).default(1),
});
export type SliceMessage = z.output<typeof SliceMessageSchema>;
/** A slice message as sent: `attempt` is left out for a first attempt. */
export type SliceMessageToSend = z.input<typeof SliceMessageSchema>;

/** Tells a worker to make delivery `webhook` (1, 2, …) of an ended task's completion webhook. */
export const WebhookMessageSchema = z.object({ taskId: z.uuid(), webhook: z.number().int().min(1) });
export type WebhookMessage = z.output<typeof WebhookMessageSchema>;

/** A message body as the trigger hands it over: parsed JSON, or a string of JSON (undefined when it is not JSON). */
export function parseMessageBody(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/** What a message on the tasks queue is, by its body. */
export type DecodedMessage =
  | { kind: 'slice'; message: SliceMessage }
  | { kind: 'webhook'; message: WebhookMessage }
  | { kind: 'invalid'; why: string };

export function decodeMessage(body: unknown): DecodedMessage {
  const value = parseMessageBody(body);
  const webhook = WebhookMessageSchema.safeParse(value);
  if (webhook.success) return { kind: 'webhook', message: webhook.data };
  const slice = SliceMessageSchema.safeParse(value);
  if (slice.success) return { kind: 'slice', message: slice.data };
  return { kind: 'invalid', why: `not a task reference: ${slice.error.issues[0]?.message}` };
}
