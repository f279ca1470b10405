import { message as amqp, types, type Message } from 'rhea';
import type { MessageLock, StoredMessage } from './queue';

/** The message format the SDK uses for a batch: one AMQP message whose data sections are encoded messages. */
export const BATCH_MESSAGE_FORMAT = 0x80013700;

/** The message as a receiver gets it: the sender's sections plus the broker's annotations. */
export function toWireMessage(m: StoredMessage, deliveryCount: number, lock?: MessageLock): Message {
  const annotations: Record<string, unknown> = {
    ...m.amqp.message_annotations,
    'x-opt-sequence-number': types.wrap_long(m.sequenceNumber),
    'x-opt-enqueued-time': new Date(m.enqueuedAt),
  };
  // Azure's states: 0 active, 1 deferred, 2 scheduled (the SDK's `state` of a peeked message).
  annotations['x-opt-message-state'] = types.wrap_int(m.scheduled ? 2 : m.deferred ? 1 : 0);
  if (lock) annotations['x-opt-locked-until'] = new Date(lock.lockedUntil);
  if (m.scheduled) annotations['x-opt-scheduled-enqueue-time'] = new Date(m.scheduled.at);
  if (m.deadLetterSource) annotations['x-opt-deadletter-source'] = m.deadLetterSource;
  return { ...m.amqp, delivery_count: deliveryCount, message_annotations: annotations };
}

export function encodeMessage(message: Message): Buffer {
  return amqp.encode(message);
}

export function decodeMessage(bytes: Buffer): Message {
  return amqp.decode(bytes) as unknown as Message;
}

/** The messages inside a batch transfer. */
export function decodeBatch(envelope: Buffer): Message[] {
  const body: unknown = decodeMessage(envelope).body;
  const section = body as { multiple?: boolean; content?: unknown } | undefined;
  const parts = section?.multiple ? (section.content as unknown[]) : [section?.content];
  return parts.map((part) => {
    if (!Buffer.isBuffer(part)) throw new TypeError('batch section is not binary data');
    return decodeMessage(part);
  });
}

/** When the sender asked for the message to appear (`scheduledEnqueueTimeUtc`), if it did. */
export function scheduledEnqueueTime(message: Message): number | undefined {
  const value: unknown = message.message_annotations?.['x-opt-scheduled-enqueue-time'];
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  return undefined;
}

/** A long sent as a number, a big-endian buffer or a bigint, as a JavaScript number. */
export function toSafeNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (Buffer.isBuffer(value) && value.length === 8) return Number(value.readBigInt64BE(0));
  throw new TypeError(`expected a long, got ${typeof value}`);
}
