import { types } from 'rhea';
import {
  decodeMessage,
  encodeMessage,
  scheduledEnqueueTime,
  toSafeNumber,
  toWireMessage,
} from './amqp-message';
import { badRequest, notImplemented } from './faults';
import { checkMessageLimits, type TierLimits } from './limits';
import { bytesToUuid, uuidToBytes } from './lock-token';
import type { QueueEntity, Settlement } from './queue';

export interface ManagementResponse {
  statusCode: number;
  body?: unknown;
}

type Body = Record<string, unknown>;

/** The `$management` operations a queue receiver or sender uses (request-response over AMQP). */
export function handleManagementRequest(
  entity: QueueEntity,
  operation: unknown,
  requestBody: unknown,
  limits: TierLimits,
): ManagementResponse {
  const body = (requestBody && typeof requestBody === 'object' ? requestBody : {}) as Body;
  switch (operation) {
    case 'com.microsoft:renew-lock':
      return {
        statusCode: 200,
        body: { expirations: lockTokens(body).map((t) => new Date(entity.renewLock(t))) },
      };
    case 'com.microsoft:schedule-message':
      return { statusCode: 200, body: { 'sequence-numbers': scheduleMessages(entity, body, limits) } };
    case 'com.microsoft:cancel-scheduled-message':
      for (const n of sequenceNumbers(body)) entity.cancelScheduled(n);
      return { statusCode: 200, body: {} };
    case 'com.microsoft:peek-message':
      return peek(entity, body);
    case 'com.microsoft:update-disposition':
      for (const token of lockTokens(body)) entity.settle(token, settlementOf(body));
      return { statusCode: 200, body: {} };
    case 'com.microsoft:receive-by-sequence-number':
      return receiveDeferred(entity, body);
    case 'com.microsoft:renew-session-lock':
      return { statusCode: 200, body: { expiration: new Date(entity.renewSessionLock(sessionId(body))) } };
    case 'com.microsoft:get-session-state':
      return { statusCode: 200, body: { 'session-state': entity.getSessionState(sessionId(body)) ?? null } };
    case 'com.microsoft:set-session-state': {
      const state: unknown = body['session-state'];
      if (state !== null && state !== undefined && !Buffer.isBuffer(state)) {
        throw badRequest("'session-state' must be binary");
      }
      entity.setSessionState(sessionId(body), state ?? undefined);
      return { statusCode: 200, body: {} };
    }
    default:
      throw notImplemented(String(operation));
  }
}

function lockTokens(body: Body): string[] {
  const tokens = body['lock-tokens'];
  if (!Array.isArray(tokens) || !tokens.every((t) => Buffer.isBuffer(t) && t.length === 16)) {
    throw badRequest("'lock-tokens' must be an array of UUIDs");
  }
  return tokens.map((t: Buffer) => bytesToUuid(t));
}

function sessionId(body: Body): string {
  const id = body['session-id'];
  if (typeof id !== 'string' || id.length === 0) throw badRequest("'session-id' must be a string");
  return id;
}

function sequenceNumbers(body: Body): number[] {
  const numbers = body['sequence-numbers'];
  if (!Array.isArray(numbers)) throw badRequest("'sequence-numbers' must be an array of longs");
  try {
    return numbers.map(toSafeNumber);
  } catch {
    throw badRequest("'sequence-numbers' must be an array of longs");
  }
}

function scheduleMessages(entity: QueueEntity, body: Body, limits: TierLimits): number[] {
  const entries = body.messages;
  if (!Array.isArray(entries)) throw badRequest("'messages' must be an array");
  const decoded = entries.map((entry: unknown) => {
    const bytes = (entry as Body | undefined)?.message;
    if (!Buffer.isBuffer(bytes)) throw badRequest("each scheduled entry needs an encoded 'message'");
    let message;
    try {
      message = decodeMessage(bytes);
    } catch {
      throw badRequest('a scheduled message could not be decoded');
    }
    // Scheduling is sending: the same limits apply (Azure's quotas make no exception for it).
    checkMessageLimits(message, bytes.length, limits);
    return message;
  });
  return decoded.map((m) => entity.enqueue(m, { scheduledAt: scheduledEnqueueTime(m) }));
}

function peek(entity: QueueEntity, body: Body): ManagementResponse {
  let from: number;
  try {
    from = toSafeNumber(body['from-sequence-number'] ?? 1);
  } catch {
    throw badRequest("'from-sequence-number' must be a long");
  }
  const count = Number(body['message-count'] ?? 1);
  if (!Number.isInteger(count) || count < 1) throw badRequest("'message-count' must be a positive int");
  const found = entity.peek(from, count);
  if (found.length === 0) return { statusCode: 204, body: { messages: [] } };
  return {
    statusCode: 200,
    body: {
      messages: found.map((m) => ({ message: encodeMessage(toWireMessage(m, m.deliveries, m.lock)) })),
    },
  };
}

function receiveDeferred(entity: QueueEntity, body: Body): ManagementResponse {
  // The SDK sends receiver-settle-mode 0 for receive-and-delete and 1 for peek-lock.
  const receiveAndDelete = Number(body['receiver-settle-mode'] ?? 1) === 0;
  const received = entity.receiveDeferred(sequenceNumbers(body), receiveAndDelete);
  return {
    statusCode: 200,
    body: {
      messages: received.map(({ message, deliveryCount, lock }) => ({
        message: encodeMessage(toWireMessage(message, deliveryCount, lock)),
        ...(lock ? { 'lock-token': types.wrap_uuid(uuidToBytes(lock.token)) } : {}),
      })),
    },
  };
}

function settlementOf(body: Body): Settlement {
  const properties = body['properties-to-modify'] as Record<string, unknown> | undefined;
  switch (body['disposition-status']) {
    case 'completed':
      return { kind: 'complete' };
    case 'abandoned':
      return { kind: 'abandon', properties };
    case 'defered':
      return { kind: 'defer', properties };
    case 'suspended':
      return {
        kind: 'deadLetter',
        reason: optionalString(body['deadletter-reason']),
        description: optionalString(body['deadletter-description']),
        properties,
      };
    default:
      throw badRequest(`unknown disposition-status '${String(body['disposition-status'])}'`);
  }
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
