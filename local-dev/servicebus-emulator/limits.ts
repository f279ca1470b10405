import type { Message } from 'rhea';
import { encodeMessage } from './amqp-message';
import { headerTooLarge, messageTooLarge } from './faults';

export type Tier = 'Standard' | 'Premium';

export interface TierLimits {
  /** A message, or a batch as one transfer, including its properties. */
  maxMessageBytes: number;
  /** All properties (the message's header) together. */
  maxHeaderBytes: number;
  /** One application property. */
  maxPropertyBytes: number;
}

/** https://learn.microsoft.com/azure/service-bus-messaging/service-bus-quotas ("Message size", "Message property size"). */
export const TIER_LIMITS: Record<Tier, TierLimits> = {
  Standard: { maxMessageBytes: 256 * 1024, maxHeaderBytes: 64 * 1024, maxPropertyBytes: 32 * 1024 },
  Premium: { maxMessageBytes: 100 * 1024 * 1024, maxHeaderBytes: 64 * 1024, maxPropertyBytes: 32 * 1024 },
};

/** Throws the fault Azure reports when a message (`size` bytes encoded) breaks a limit of the tier. */
export function checkMessageLimits(message: Message, size: number, limits: TierLimits): void {
  if (size > limits.maxMessageBytes) throw messageTooLarge(size, limits.maxMessageBytes);
  // The header cannot be larger than the message, so small messages skip measuring it.
  if (size <= limits.maxPropertyBytes) return;
  const header = encodeMessage({ ...message, body: undefined }).length;
  if (header > limits.maxHeaderBytes)
    throw headerTooLarge(`the message's properties take ${header} bytes`, limits.maxHeaderBytes);
  for (const [name, value] of Object.entries(message.application_properties ?? {})) {
    const bytes = encodeMessage({ body: undefined, application_properties: { [name]: value } }).length;
    if (bytes > limits.maxPropertyBytes) {
      throw headerTooLarge(`property '${name}' takes ${bytes} bytes`, limits.maxPropertyBytes);
    }
  }
}
