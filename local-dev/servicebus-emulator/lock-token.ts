import { randomUUID } from 'node:crypto';

/**
 * Service Bus sends a lock token as a .NET GUID in its delivery tag: the first three groups are
 * little-endian. The SDK reorders the tag into the UUID string it shows, and the reordering is its
 * own inverse, so the same function maps both ways.
 */
function reorderGuidBytes(bytes: Buffer): Buffer {
  return Buffer.from([
    bytes[3],
    bytes[2],
    bytes[1],
    bytes[0],
    bytes[5],
    bytes[4],
    bytes[7],
    bytes[6],
    ...bytes.subarray(8, 16),
  ]);
}

export function uuidToBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

export function bytesToUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function newLockToken(): string {
  return randomUUID();
}

export function lockTokenToDeliveryTag(lockToken: string): Buffer {
  return reorderGuidBytes(uuidToBytes(lockToken));
}

/** The lock token a delivery tag stands for, or undefined when the tag is not a GUID. */
export function deliveryTagToLockToken(tag: Buffer | string | undefined): string | undefined {
  const bytes = typeof tag === 'string' ? Buffer.from(tag) : tag;
  return bytes && bytes.length === 16 ? bytesToUuid(reorderGuidBytes(bytes)) : undefined;
}
