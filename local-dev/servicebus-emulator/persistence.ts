// Azure Service Bus keeps every message it has acknowledged (message durability,
// https://learn.microsoft.com/azure/reliability/reliability-service-bus); with --data-dir the emulator does too.
import {
  closeSync,
  fdatasync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  write,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** A message as the journal keeps it: the sender's message encoded, plus the broker's state. */
export interface PersistedMessage {
  sequenceNumber: number;
  messageId: string;
  amqp: Buffer;
  enqueuedAt: number;
  expiresAt: number;
  deliveries: number;
  deferred: boolean;
  /** When a scheduled message becomes active; undefined once it has. */
  scheduledAt: number | undefined;
  deadLetterSource: string | undefined;
}

/**
 * One state change. Each sets a value rather than changing one, so replaying a record twice (as happens for
 * records written while a compaction's snapshot already covered them) is harmless.
 */
export type JournalRecord =
  | { type: 'upsert'; entity: string; message: PersistedMessage }
  | { type: 'remove'; entity: string; sequenceNumber: number }
  | { type: 'deliveries'; entity: string; sequenceNumber: number; deliveries: number }
  | { type: 'seen'; entity: string; messageId: string; at: number; sequenceNumber: number }
  | { type: 'highWater'; entity: string; nextSequenceNumber: number }
  | { type: 'sessionState'; entity: string; sessionId: string; state: Buffer | undefined };

/** An entity's state as rebuilt from the journal. */
export interface EntityImage {
  messages: Map<number, PersistedMessage>;
  nextSequenceNumber: number;
  seen: Map<string, { at: number; sequenceNumber: number }>;
  sessionStates: Map<string, Buffer>;
}

export const DEFAULT_COMPACT_AT_BYTES = 64 * 1024 * 1024;
const LOG_FILE = 'journal.log';
const SNAPSHOT_FILE = 'journal.snapshot';
/** Frame header: payload length, then the payload's CRC-32. */
const HEADER_BYTES = 8;

const TYPE_CODES = { upsert: 1, remove: 2, deliveries: 3, seen: 4, highWater: 5, sessionState: 6 } as const;

/**
 * An append-only journal of queue state changes. Records are framed (length + CRC-32) so a tail torn by a
 * crash is detected and cut off on load. Appends made in one event-loop turn are written and fdatasync'd
 * together (group commit); `afterDurable` runs its callback once everything appended so far is on disk.
 */
export class Journal {
  private fd: number;
  private size: number;
  private pending: Buffer[] = [];
  private pendingCallbacks: Array<() => void> = [];
  private inFlightCallbacks: Array<() => void> | undefined;
  private scheduled = false;
  private closed = false;
  private snapshotSource: () => Iterable<JournalRecord> = () => [];

  private constructor(
    private readonly dir: string,
    private readonly compactAtBytes: number,
    private readonly onError: (err: Error) => void,
  ) {
    this.fd = openSync(join(dir, LOG_FILE), 'a');
    this.size = statSync(join(dir, LOG_FILE)).size;
  }

  /** Opens the journal in `dir`, cutting off a torn tail, and returns it with the records it holds. */
  static open(
    dir: string,
    options: { compactAtBytes?: number; log?: (line: string) => void } = {},
  ): { journal: Journal; records: JournalRecord[] } {
    const log = options.log ?? (() => undefined);
    // A snapshot left behind was never renamed into place: the log it was made from is still complete.
    rmSync(join(dir, SNAPSHOT_FILE), { force: true });
    const path = join(dir, LOG_FILE);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      bytes = Buffer.alloc(0);
    }
    const { records, validBytes } = readFrames(bytes);
    if (validBytes < bytes.length) {
      log(`journal: cut off a torn tail of ${bytes.length - validBytes} byte(s) at offset ${validBytes}`);
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, validBytes);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    const journal = new Journal(dir, options.compactAtBytes ?? DEFAULT_COMPACT_AT_BYTES, (err) =>
      log(`journal: ${err.message}`),
    );
    return { journal, records };
  }

  /** Where a compaction gets the live state from. */
  setSnapshotSource(source: () => Iterable<JournalRecord>): void {
    this.snapshotSource = source;
  }

  append(record: JournalRecord): void {
    if (this.closed) return;
    this.pending.push(frame(encodeRecord(record)));
    this.scheduleFlush();
  }

  /** Runs `callback` once every record appended so far is durable. */
  afterDurable(callback: () => void): void {
    if (this.pending.length > 0) {
      this.pendingCallbacks.push(callback);
      this.scheduleFlush();
    } else if (this.inFlightCallbacks) {
      this.inFlightCallbacks.push(callback);
    } else {
      callback();
    }
  }

  /** Flushes what is pending and closes the file. */
  async close(): Promise<void> {
    while (this.pending.length > 0 || this.inFlightCallbacks) {
      await new Promise<void>((resolve) => this.afterDurable(resolve));
    }
    this.closed = true;
    closeSync(this.fd);
  }

  private scheduleFlush(): void {
    if (this.scheduled || this.inFlightCallbacks) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.pending.length === 0 || this.closed) return;
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    const callbacks = this.pendingCallbacks;
    this.pending = [];
    this.pendingCallbacks = [];
    this.inFlightCallbacks = callbacks;
    write(this.fd, data, 0, data.length, null, (writeErr) => {
      if (writeErr) return this.finishFlush(writeErr);
      this.size += data.length;
      fdatasync(this.fd, (syncErr) => this.finishFlush(syncErr));
    });
  }

  private finishFlush(err: Error | null): void {
    const callbacks = this.inFlightCallbacks ?? [];
    this.inFlightCallbacks = undefined;
    if (err) {
      // Acknowledging would claim durability the disk did not give; the client's operation times out instead.
      this.onError(err);
    } else {
      if (this.size > this.compactAtBytes) this.compact();
      for (const callback of callbacks) callback();
    }
    if (this.pending.length > 0) this.scheduleFlush();
  }

  /**
   * Writes the live state as a new log and renames it over the old one. The live state already includes
   * what is pending, so the pending records are dropped and their callbacks run once the rename is durable.
   */
  private compact(): void {
    const snapshotPath = join(this.dir, SNAPSHOT_FILE);
    const fd = openSync(snapshotPath, 'w');
    let size = 0;
    try {
      let chunk: Buffer[] = [];
      let chunkBytes = 0;
      const writeChunk = () => {
        const data = Buffer.concat(chunk);
        writeSync(fd, data);
        size += data.length;
        chunk = [];
        chunkBytes = 0;
      };
      for (const record of this.snapshotSource()) {
        const framed = frame(encodeRecord(record));
        chunk.push(framed);
        chunkBytes += framed.length;
        if (chunkBytes > 1 << 20) writeChunk();
      }
      writeChunk();
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(snapshotPath, join(this.dir, LOG_FILE));
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    closeSync(this.fd);
    this.fd = openSync(join(this.dir, LOG_FILE), 'a');
    this.size = size;
    this.pending = [];
    const callbacks = this.pendingCallbacks;
    this.pendingCallbacks = [];
    for (const callback of callbacks) callback();
  }
}

/** Applies records in order: the state they leave, per entity path. */
export function replay(records: Iterable<JournalRecord>): Map<string, EntityImage> {
  const images = new Map<string, EntityImage>();
  const image = (entity: string): EntityImage => {
    let i = images.get(entity);
    if (!i) {
      i = { messages: new Map(), nextSequenceNumber: 1, seen: new Map(), sessionStates: new Map() };
      images.set(entity, i);
    }
    return i;
  };
  for (const r of records) {
    const i = image(r.entity);
    switch (r.type) {
      case 'upsert':
        i.messages.set(r.message.sequenceNumber, r.message);
        i.nextSequenceNumber = Math.max(i.nextSequenceNumber, r.message.sequenceNumber + 1);
        break;
      case 'remove':
        i.messages.delete(r.sequenceNumber);
        break;
      case 'deliveries': {
        const m = i.messages.get(r.sequenceNumber);
        if (m) m.deliveries = r.deliveries;
        break;
      }
      case 'seen':
        i.seen.delete(r.messageId);
        i.seen.set(r.messageId, { at: r.at, sequenceNumber: r.sequenceNumber });
        i.nextSequenceNumber = Math.max(i.nextSequenceNumber, r.sequenceNumber + 1);
        break;
      case 'highWater':
        i.nextSequenceNumber = Math.max(i.nextSequenceNumber, r.nextSequenceNumber);
        break;
      case 'sessionState':
        if (r.state) i.sessionStates.set(r.sessionId, r.state);
        else i.sessionStates.delete(r.sessionId);
        break;
    }
  }
  return images;
}

function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  payload.copy(out, HEADER_BYTES);
  return out;
}

/** The records of whole, intact frames, and where the first torn or corrupt one starts. */
export function readFrames(bytes: Buffer): { records: JournalRecord[]; validBytes: number } {
  const records: JournalRecord[] = [];
  let offset = 0;
  while (offset + HEADER_BYTES <= bytes.length) {
    const length = bytes.readUInt32LE(offset);
    const end = offset + HEADER_BYTES + length;
    if (end > bytes.length) break;
    const payload = bytes.subarray(offset + HEADER_BYTES, end);
    if (crc32(payload) !== bytes.readUInt32LE(offset + 4)) break;
    records.push(decodeRecord(payload));
    offset = end;
  }
  return { records, validBytes: offset };
}

/** A small binary writer: strings and buffers are length-prefixed, numbers are doubles. */
class Writer {
  private parts: Buffer[] = [];
  private head = Buffer.allocUnsafe(64);
  private used = 0;

  u8(v: number): this {
    this.reserve(1);
    this.head.writeUInt8(v, this.used);
    this.used += 1;
    return this;
  }

  f64(v: number): this {
    this.reserve(8);
    this.head.writeDoubleLE(v, this.used);
    this.used += 8;
    return this;
  }

  bytes(v: Buffer): this {
    this.reserve(4);
    this.head.writeUInt32LE(v.length, this.used);
    this.used += 4;
    this.parts.push(this.head.subarray(0, this.used), v);
    this.head = Buffer.allocUnsafe(64);
    this.used = 0;
    return this;
  }

  str(v: string): this {
    return this.bytes(Buffer.from(v, 'utf8'));
  }

  done(): Buffer {
    this.parts.push(this.head.subarray(0, this.used));
    return this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts);
  }

  private reserve(n: number): void {
    if (this.used + n <= this.head.length) return;
    this.parts.push(this.head.subarray(0, this.used));
    this.head = Buffer.allocUnsafe(64);
    this.used = 0;
  }
}

class Reader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}

  u8(): number {
    return this.buf.readUInt8(this.offset++);
  }

  f64(): number {
    const v = this.buf.readDoubleLE(this.offset);
    this.offset += 8;
    return v;
  }

  bytes(): Buffer {
    const length = this.buf.readUInt32LE(this.offset);
    const start = this.offset + 4;
    this.offset = start + length;
    return Buffer.from(this.buf.subarray(start, this.offset));
  }

  str(): string {
    return this.bytes().toString('utf8');
  }
}

export function encodeRecord(r: JournalRecord): Buffer {
  const w = new Writer().u8(TYPE_CODES[r.type]).str(r.entity);
  switch (r.type) {
    case 'upsert': {
      const m = r.message;
      return w
        .f64(m.sequenceNumber)
        .str(m.messageId)
        .f64(m.enqueuedAt)
        .f64(m.expiresAt)
        .f64(m.deliveries)
        .u8(m.deferred ? 1 : 0)
        .f64(m.scheduledAt ?? NaN)
        .u8(m.deadLetterSource === undefined ? 0 : 1)
        .str(m.deadLetterSource ?? '')
        .bytes(m.amqp)
        .done();
    }
    case 'remove':
      return w.f64(r.sequenceNumber).done();
    case 'deliveries':
      return w.f64(r.sequenceNumber).f64(r.deliveries).done();
    case 'seen':
      return w.str(r.messageId).f64(r.at).f64(r.sequenceNumber).done();
    case 'highWater':
      return w.f64(r.nextSequenceNumber).done();
    case 'sessionState':
      return w
        .str(r.sessionId)
        .u8(r.state ? 1 : 0)
        .bytes(r.state ?? Buffer.alloc(0))
        .done();
  }
}

function decodeRecord(payload: Buffer): JournalRecord {
  const r = new Reader(payload);
  const code = r.u8();
  const entity = r.str();
  switch (code) {
    case TYPE_CODES.upsert: {
      const sequenceNumber = r.f64();
      const messageId = r.str();
      const enqueuedAt = r.f64();
      const expiresAt = r.f64();
      const deliveries = r.f64();
      const deferred = r.u8() === 1;
      const scheduledAt = r.f64();
      const hasSource = r.u8() === 1;
      const source = r.str();
      const amqp = r.bytes();
      return {
        type: 'upsert',
        entity,
        message: {
          sequenceNumber,
          messageId,
          amqp,
          enqueuedAt,
          expiresAt,
          deliveries,
          deferred,
          scheduledAt: Number.isNaN(scheduledAt) ? undefined : scheduledAt,
          deadLetterSource: hasSource ? source : undefined,
        },
      };
    }
    case TYPE_CODES.remove:
      return { type: 'remove', entity, sequenceNumber: r.f64() };
    case TYPE_CODES.deliveries:
      return { type: 'deliveries', entity, sequenceNumber: r.f64(), deliveries: r.f64() };
    case TYPE_CODES.seen:
      return { type: 'seen', entity, messageId: r.str(), at: r.f64(), sequenceNumber: r.f64() };
    case TYPE_CODES.highWater:
      return { type: 'highWater', entity, nextSequenceNumber: r.f64() };
    case TYPE_CODES.sessionState: {
      const sessionId = r.str();
      const has = r.u8() === 1;
      const state = r.bytes();
      return { type: 'sessionState', entity, sessionId, state: has ? state : undefined };
    }
    default:
      throw new Error(`journal record type ${code} is unknown`);
  }
}
