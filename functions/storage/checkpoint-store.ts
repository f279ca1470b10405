import { createHash, randomUUID } from 'node:crypto';
import type { TableClient, TableEntityResult, TransactionAction } from '@azure/data-tables';
import { appMetrics } from '../platform/metrics';
import { ATTR, withSpan } from '../platform/tracing';
import { CONTAINERS, isBlobNotFound, type BlobStore } from './blob-store';

/** Another worker took the lease (ours expired), so this one must stop without writing anything more. */
export class LeaseLostError extends Error {
  constructor(taskId: string) {
    super(`lease on task ${taskId} was lost`);
    this.name = 'LeaseLostError';
  }
}

export interface Lease {
  readonly taskId: string;
  readonly owner: string;
  etag: string;
  expiresAt: number;
  /** The last slice that ran under any lease. */
  slice: number;
  /** The loop state; when it is held in a blob (`stateRef`), only once `replay` has read it. */
  state: unknown;
  /** The blob holding `state` when it is too large for the row. */
  stateRef?: string;
  /** Taken over from a worker whose lease expired without a release (it died or lost touch mid-slice). */
  takenOver?: boolean;
  /** There was no lease row: this acquisition created it (a task's first slice, unless its checkpoints are gone). */
  created?: boolean;
  /** How often the lease was taken over from a worker that went silent, this acquisition included. */
  takeovers: number;
}

/** A durable wait (ctx.sleep, ctx.waitForEvent) as its row records it. */
export interface WaitRecord {
  name: string;
  kind: 'sleep' | 'signal';
  startedAt: Date;
  /** When it ends by itself: a sleep's end, a signal wait's timeout (null: none). */
  dueAt: Date | null;
  /** What it came to, once it did: the task sees this on every replay. */
  outcome?: unknown;
}

/** What a task's checkpoints hold besides the loop state: results of completed steps, and its waits, by name. */
export interface Replayed {
  steps: Map<string, unknown>;
  waits: Map<string, WaitRecord>;
}

const LEASE_ROW = 'lease';
const STEP_PREFIX = 'step-';
const WAIT_PREFIX = 'wait-';
/** Table strings hold 64 KiB (32 K UTF-16 characters); larger JSON goes to Blob. */
const INLINE_JSON_CHARS = 30_000;
/** Table storage's limit on operations in one entity-group transaction. */
const TRANSACTION_ROWS = 100;

type LeaseEntity = {
  partitionKey: string;
  rowKey: string;
  owner: string;
  expiresAt: number;
  slice: number;
  state?: string;
  stateRef?: string;
  /** The step in flight, as of the last heartbeat ('' when none): what GET /api/tasks/{id}/steps shows as running. */
  step?: string;
  stepStartedAt?: Date;
  takeovers?: number;
};

type WaitEntity = {
  partitionKey: string;
  rowKey: string;
  name: string;
  kind: 'sleep' | 'signal';
  startedAt: Date;
  /** Absent: no end of its own. */
  dueAt?: Date;
  /** JSON of the outcome, once resolved. */
  outcome?: string;
  resolvedAt?: Date;
};

/** When and where a step ran: kept on its checkpoint row. */
export interface StepTiming {
  startedAt: Date;
  slice: number;
  attempt: number;
}

/** A completed step as its checkpoint row records it (rows written before timings were kept have none). */
export interface CompletedStep {
  name: string;
  startedAt: Date | null;
  finishedAt: Date | null;
  slice: number | null;
  attempt: number | null;
  /** Size of the stored result JSON, in bytes. */
  bytes: number | null;
}

/** What a task's checkpoint partition says of its steps: those completed, and the one in flight at the last heartbeat. */
export interface StepRecords {
  completed: CompletedStep[];
  /** `slice`: the slice running it (the lease row's slice is the one that runs until its release). */
  inFlight: { name: string; startedAt: Date; slice: number; leaseLive: boolean } | undefined;
}

type StepEntity = {
  partitionKey: string;
  rowKey: string;
  name: string;
  result?: string;
  resultRef?: string;
  startedAt?: Date;
  finishedAt?: Date;
  slice?: number;
  attempt?: number;
  bytes?: number;
};

/**
 * Leases and checkpoints in Table storage, one partition per task: a `lease` row (owner, expiry, slice, loop state)
 * and one row per completed step. Every write checks the lease row's ETag, so a worker whose lease was taken over
 * cannot checkpoint anything.
 */
export class CheckpointStore {
  private ensured: Promise<void> | undefined;

  constructor(
    private readonly table: TableClient,
    private readonly blobs: BlobStore,
  ) {}

  ensureTable(): Promise<void> {
    this.ensured ??= this.table.createTable().then(
      () => undefined,
      (err: unknown) => {
        this.ensured = undefined;
        throw err;
      },
    );
    return this.ensured;
  }

  /**
   * Takes the task's lease unless another owner holds a live one (then undefined). `fresh`: the task has never run,
   * so its lease row most likely does not exist yet and creating it comes first (one round trip instead of a read and
   * a write); a row that does exist is then read and taken as usual.
   */
  acquire(taskId: string, owner: string, leaseMs: number, fresh = false): Promise<Lease | undefined> {
    return withSpan('lease.acquire', { [ATTR.taskId]: taskId }, () =>
      this.acquireLease(taskId, owner, leaseMs, fresh),
    );
  }

  private async acquireLease(
    taskId: string,
    owner: string,
    leaseMs: number,
    fresh: boolean,
  ): Promise<Lease | undefined> {
    await this.ensureTable();
    if (fresh) {
      const created = await this.createLease(taskId, owner, leaseMs);
      if (created) return created;
    }
    const now = Date.now();
    const current = await this.readLease(taskId);
    if (!current) return (await this.createLease(taskId, owner, leaseMs)) ?? undefined;
    if (current.owner && current.owner !== owner && current.expiresAt > now) return undefined;
    const takenOver = Boolean(current.owner) && current.owner !== owner;
    const takeovers = (current.takeovers ?? 0) + (takenOver ? 1 : 0);
    try {
      const updated = await this.table.updateEntity(
        { partitionKey: taskId, rowKey: LEASE_ROW, owner, expiresAt: now + leaseMs, takeovers },
        'Merge',
        { etag: current.etag },
      );
      return {
        taskId,
        owner,
        etag: updated.etag ?? '',
        expiresAt: now + leaseMs,
        slice: current.slice,
        state: current.stateRef ? undefined : parseInline(current.state),
        stateRef: current.stateRef || undefined,
        takenOver,
        takeovers,
      };
    } catch (err) {
      if (statusOf(err) === 412) return undefined; // someone else took it between our read and write
      throw err;
    }
  }

  /** Creates the lease row; null when it exists already (another worker, or an earlier slice, wrote it). */
  private async createLease(taskId: string, owner: string, leaseMs: number): Promise<Lease | null> {
    const entity: LeaseEntity = {
      partitionKey: taskId,
      rowKey: LEASE_ROW,
      owner,
      expiresAt: Date.now() + leaseMs,
      slice: 0,
    };
    try {
      const created = await this.table.createEntity(entity);
      return {
        taskId,
        owner,
        etag: created.etag ?? '',
        expiresAt: entity.expiresAt,
        slice: 0,
        state: undefined,
        created: true,
        takeovers: 0,
      };
    } catch (err) {
      if (statusOf(err) === 409) return null;
      throw err;
    }
  }

  /** Whether a worker holds a live lease on the task, and the next slice to run. */
  async leaseState(taskId: string): Promise<{ live: boolean; nextSlice: number }> {
    await this.ensureTable();
    const lease = await this.readLease(taskId);
    return {
      live: Boolean(lease?.owner) && (lease?.expiresAt ?? 0) > Date.now(),
      nextSlice: lease?.slice ?? 0,
    };
  }

  /**
   * Extends the lease, and records the step in flight (none: ''), which costs no extra write; throws LeaseLostError
   * when the lease was taken over.
   */
  async renew(lease: Lease, leaseMs: number, inFlight?: { name: string; startedAt: Date }): Promise<void> {
    const expiresAt = Date.now() + leaseMs;
    const step = inFlight ? { step: inFlight.name, stepStartedAt: inFlight.startedAt } : { step: '' };
    await withSpan('lease.renew', { [ATTR.taskId]: lease.taskId }, () =>
      this.writeLease(lease, { expiresAt, ...step }),
    );
    lease.expiresAt = expiresAt;
  }

  /** Gives the lease up at the end of a slice, recording which slice ran. */
  async release(lease: Lease, slice: number): Promise<void> {
    await withSpan('lease.release', { [ATTR.taskId]: lease.taskId }, () =>
      this.writeLease(lease, { owner: '', expiresAt: 0, slice, step: '' }),
    );
    lease.slice = slice;
  }

  /**
   * Stores the loop state of `ctx.checkpoint`, under the lease. A large state goes to a blob of its own first, so a
   * worker that lost the lease cannot overwrite the state the row points at; the row's ETag decides which blob counts.
   */
  saveState(lease: Lease, state: unknown): Promise<void> {
    return this.timed('save', lease.taskId, () => this.saveStateNow(lease, state));
  }

  private async saveStateNow(lease: Lease, state: unknown): Promise<void> {
    const json = JSON.stringify(state ?? null);
    const stateRef =
      json.length <= INLINE_JSON_CHARS ? undefined : await this.overflow(lease.taskId, 'state', json);
    try {
      await this.writeLease(lease, stateRef ? { state: '', stateRef } : { state: json, stateRef: '' });
    } catch (err) {
      if (stateRef) await this.blobs.delete(stateRef).catch(() => undefined);
      throw err;
    }
    const previous = lease.stateRef;
    lease.state = state;
    lease.stateRef = stateRef;
    // Only after the row points elsewhere; a blob left behind by a crash here is harmless.
    if (previous) await this.blobs.delete(previous).catch(() => undefined);
  }

  /** Results of the steps completed so far, by step name. */
  async completedSteps(taskId: string): Promise<Map<string, unknown>> {
    return (await this.timed('load', taskId, () => this.readStepsAndWaits(taskId))).steps;
  }

  /**
   * Reads what the task's checkpoints hold: its loop state into `lease.state` (from its blob, when large), the
   * results of the steps completed so far and its waits, by name. A blob a checkpoint points at that is gone throws
   * CheckpointMissingError.
   */
  replay(lease: Lease): Promise<Replayed> {
    return this.timed('load', lease.taskId, async () => {
      if (lease.stateRef) lease.state = await this.readJson(undefined, lease.stateRef);
      return this.readStepsAndWaits(lease.taskId);
    });
  }

  /**
   * Step and wait rows in one query: their keys sort after the lease row's ('step-…' < 'wait-…'), and nothing else
   * does. From `WAIT_PREFIX`: the wait rows only.
   */
  private async readStepsAndWaits(taskId: string, from = STEP_PREFIX): Promise<Replayed> {
    await this.ensureTable();
    const replayed: Replayed = { steps: new Map(), waits: new Map() };
    const rows = this.table.listEntities<StepEntity & WaitEntity>({
      queryOptions: { filter: `PartitionKey eq '${taskId}' and RowKey ge '${from}'` },
    });
    for await (const row of rows) {
      if (row.rowKey.startsWith(STEP_PREFIX)) {
        replayed.steps.set(row.name, await this.readJson(row.result, row.resultRef));
      } else if (row.rowKey.startsWith(WAIT_PREFIX)) {
        replayed.waits.set(row.name, {
          name: row.name,
          kind: row.kind,
          startedAt: row.startedAt,
          dueAt: row.dueAt ?? null,
          ...(row.outcome === undefined ? {} : { outcome: JSON.parse(row.outcome) as unknown }),
        });
      }
    }
    return replayed;
  }

  /**
   * Records that a wait started, with when it ends by itself, in one transaction with the lease: a replay finds the
   * same due time, so a sleep's end is fixed when it starts.
   */
  startWait(lease: Lease, wait: Omit<WaitRecord, 'outcome'>): Promise<void> {
    const row: WaitEntity = {
      partitionKey: lease.taskId,
      rowKey: rowKeyOf(WAIT_PREFIX, wait.name),
      name: wait.name,
      kind: wait.kind,
      startedAt: wait.startedAt,
      ...(wait.dueAt ? { dueAt: wait.dueAt } : {}),
    };
    return this.timed('save', lease.taskId, () => this.writeWithLease(lease, ['upsert', row, 'Replace']));
  }

  /**
   * Forgets the waits of a failed task that timed out, so a retry waits again (from the retry on) rather than replay
   * the timeout. No lease: a failed task has no worker.
   */
  async reopenTimedOutWaits(taskId: string): Promise<void> {
    for (const wait of (await this.readStepsAndWaits(taskId, WAIT_PREFIX)).waits.values()) {
      if ((wait.outcome as { timedOut?: boolean } | undefined)?.timedOut)
        await this.table.deleteEntity(taskId, rowKeyOf(WAIT_PREFIX, wait.name));
    }
  }

  /** Records what a wait came to (a signal's payload, a timeout), with the lease: every replay sees the same outcome. */
  resolveWait(lease: Lease, name: string, outcome: unknown): Promise<void> {
    const row = {
      partitionKey: lease.taskId,
      rowKey: rowKeyOf(WAIT_PREFIX, name),
      outcome: JSON.stringify(outcome ?? null),
      resolvedAt: new Date(),
    };
    return this.timed('save', lease.taskId, () => this.writeWithLease(lease, ['update', row, 'Merge']));
  }

  /**
   * The task's completed steps (without their results) and the step in flight at the last heartbeat, for the steps
   * view; empty when the task never ran or its checkpoints were deleted (retention).
   */
  async stepRecords(taskId: string): Promise<StepRecords> {
    await this.ensureTable();
    const rows = this.table.listEntities<StepEntity & LeaseEntity>({
      queryOptions: {
        filter: `PartitionKey eq '${taskId}'`,
        select: [
          'RowKey',
          'Timestamp',
          'name',
          'startedAt',
          'finishedAt',
          'slice',
          'attempt',
          'bytes',
          'owner',
          'expiresAt',
          'step',
          'stepStartedAt',
        ],
      },
    });
    const completed: CompletedStep[] = [];
    let inFlight: StepRecords['inFlight'];
    for await (const row of rows) {
      if (row.rowKey === LEASE_ROW) {
        if (row.step && row.stepStartedAt) {
          const leaseLive = Boolean(row.owner) && (row.expiresAt ?? 0) > Date.now();
          inFlight = { name: row.step, startedAt: row.stepStartedAt, slice: row.slice ?? 0, leaseLive };
        }
      } else if (row.rowKey?.startsWith(STEP_PREFIX)) {
        completed.push({
          name: row.name,
          startedAt: row.startedAt ?? null,
          // Rows from before timings were kept: the row's own write time is when the step completed.
          finishedAt: row.finishedAt ?? (row.timestamp ? new Date(row.timestamp) : null),
          slice: row.slice ?? null,
          attempt: row.attempt ?? null,
          bytes: row.bytes ?? null,
        });
      }
    }
    return { completed, inFlight };
  }

  /**
   * Records a completed step, with when and where it ran, and touches the lease in one transaction: it fails when the
   * lease was lost.
   */
  commitStep(lease: Lease, name: string, result: unknown, timing: StepTiming): Promise<void> {
    return this.timed('save', lease.taskId, () => this.commitStepNow(lease, name, result, timing));
  }

  private async commitStepNow(
    lease: Lease,
    name: string,
    result: unknown,
    timing: StepTiming,
  ): Promise<void> {
    const json = JSON.stringify(result ?? null);
    const rowKey = rowKeyOf(STEP_PREFIX, name);
    // Dates go as Edm.DateTime, typed by the SDK (serializePrimitive in @azure/data-tables), and come back as Dates.
    const step: StepEntity = {
      partitionKey: lease.taskId,
      rowKey,
      name,
      ...timing,
      finishedAt: new Date(),
      bytes: Buffer.byteLength(json),
      ...(json.length <= INLINE_JSON_CHARS
        ? { result: json }
        : { resultRef: await this.overflow(lease.taskId, rowKey, json) }),
    };
    await this.writeWithLease(lease, ['create', step]);
  }

  /**
   * One row written in a transaction with the lease row (its ETag checked, the step in flight cleared): it fails with
   * LeaseLostError when the lease moved on.
   */
  private async writeWithLease(lease: Lease, action: TransactionAction): Promise<void> {
    try {
      const response = await this.table.submitTransaction([
        [
          'update',
          // The step in flight is done: it no longer shows as running.
          { partitionKey: lease.taskId, rowKey: LEASE_ROW, owner: lease.owner, step: '' },
          'Merge',
          { etag: lease.etag },
        ],
        action,
      ]);
      // The lease row's answer: an update's answer (204) names no row, unlike a created row's (201, with its
      // Location), so getResponseForEntity cannot find it; each answer of a change set carries its entity's ETag,
      // which saves reading the row back
      // (https://learn.microsoft.com/rest/api/storageservices/performing-entity-group-transactions).
      const leaseAnswer =
        response.getResponseForEntity(LEASE_ROW) ?? response.subResponses.find((r) => r.rowKey === undefined);
      lease.etag = leaseAnswer?.etag ?? (await this.readLease(lease.taskId))?.etag ?? '';
    } catch (err) {
      const status = statusOf(err);
      if (status === 412 || status === 409) throw new LeaseLostError(lease.taskId);
      throw err;
    }
  }

  /**
   * Deletes a finished task's checkpoints: every row of its partition and the overflow blobs they point at (retention).
   * Idempotent: what is already gone is skipped.
   */
  async deleteTask(taskId: string): Promise<void> {
    await this.ensureTable();
    const rowKeys: string[] = [];
    const rows = this.table.listEntities({
      queryOptions: { filter: `PartitionKey eq '${taskId}'`, select: ['RowKey'] },
    });
    for await (const row of rows) rowKeys.push(row.rowKey as string);
    // Blobs first: a crash between the two leaves rows whose next deletion finds their blobs gone.
    await this.blobs.deletePrefix(CONTAINERS.checkpoints, `${taskId}/`);
    for (let i = 0; i < rowKeys.length; i += TRANSACTION_ROWS) {
      const batch = rowKeys.slice(i, i + TRANSACTION_ROWS);
      try {
        await this.table.submitTransaction(
          batch.map((rowKey) => ['delete', { partitionKey: taskId, rowKey }]),
        );
      } catch (err) {
        // A concurrent deletion took some of them: delete what is left one by one.
        if (statusOf(err) !== 404) throw err;
        for (const rowKey of batch) {
          await this.table.deleteEntity(taskId, rowKey).catch((e: unknown) => {
            if (statusOf(e) !== 404) throw e;
          });
        }
      }
    }
  }

  /**
   * Task ids of lease rows last written before `before`: where checkpoints whose task row is gone (orphans) are
   * looked for. A lease row is written at every slice and heartbeat, so a recent one belongs to a live task.
   */
  async *leasesWrittenBefore(before: Date): AsyncIterable<string> {
    await this.ensureTable();
    const rows = this.table.listEntities({
      queryOptions: {
        filter: `RowKey eq '${LEASE_ROW}' and Timestamp lt datetime'${before.toISOString()}'`,
        select: ['PartitionKey'],
      },
    });
    for await (const row of rows) yield row.partitionKey as string;
  }

  /** A checkpoint read or write: traced, and timed for longhaul.checkpoint.latency. */
  private async timed<T>(operation: 'save' | 'load', taskId: string, work: () => Promise<T>): Promise<T> {
    const startedAt = performance.now();
    try {
      return await withSpan(`checkpoint.${operation}`, { [ATTR.taskId]: taskId }, work);
    } finally {
      appMetrics().checkpointLatency.record(performance.now() - startedAt, { operation });
    }
  }

  private async writeLease(lease: Lease, fields: Partial<LeaseEntity>): Promise<void> {
    try {
      const updated = await this.table.updateEntity(
        { partitionKey: lease.taskId, rowKey: LEASE_ROW, ...fields },
        'Merge',
        { etag: lease.etag },
      );
      lease.etag = updated.etag ?? lease.etag;
    } catch (err) {
      if (statusOf(err) === 412) throw new LeaseLostError(lease.taskId);
      throw err;
    }
  }

  private async readLease(taskId: string): Promise<TableEntityResult<LeaseEntity> | undefined> {
    try {
      return await this.table.getEntity<LeaseEntity>(taskId, LEASE_ROW);
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** A new blob per write: a name that is never reused cannot be overwritten by a worker that lost the lease. */
  private async overflow(taskId: string, key: string, json: string): Promise<string> {
    return this.blobs.putJson(
      CONTAINERS.checkpoints,
      `${taskId}/${key}-${randomUUID()}.json`,
      Buffer.from(json),
    );
  }

  private async readJson(inline: string | undefined, ref: string | undefined): Promise<unknown> {
    if (!ref) return parseInline(inline);
    try {
      return await this.blobs.getJson(ref);
    } catch (err) {
      if (isBlobNotFound(err)) throw new CheckpointBlobMissingError(ref, { cause: err });
      throw err;
    }
  }
}

/** A checkpoint's row points at a blob that is gone: the engine fails the task (it cannot replay without it). */
export class CheckpointBlobMissingError extends Error {
  constructor(
    readonly ref: string,
    options?: ErrorOptions,
  ) {
    super(`checkpoint blob ${ref}`, options);
    this.name = 'CheckpointBlobMissingError';
  }
}

/** A step's or wait's row key: names are free text, and a row key may not hold some characters ('/', '#', …). */
function rowKeyOf(prefix: string, name: string): string {
  return `${prefix}${createHash('sha256').update(name).digest('base64url')}`;
}

function parseInline(json: string | undefined): unknown {
  return json ? JSON.parse(json) : undefined;
}

function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}
