import { randomUUID } from 'node:crypto';
import type { EnginePorts, MessageSettlement } from '../../functions/engine/ports';
import { TaskCatalog } from '../../functions/engine/catalog';
import type { TaskDefinition } from '../../functions/engine/define-task';
import { Dispatch, type SendOptions } from '../../functions/engine/dispatch';
import type { TaskEventRow } from '../../functions/model/events';
import type { SliceMessageToSend, WebhookMessage } from '../../functions/model/messages';
import { isFinished, type TaskRow } from '../../functions/model/task';
import {
  LeaseLostError,
  type Lease,
  type Replayed,
  type WaitRecord,
} from '../../functions/storage/checkpoint-store';
import type { StoredSignal, Suspension } from '../../functions/storage/task-repository';

/**
 * In-memory stand-ins for the engine's ports, for fast tests of its decisions (test/functions/engine/unit/). They keep
 * the contracts the engine relies on: the lease row's ETag compare-and-swap (a write with a stale ETag is a lost
 * lease), a step committed with the lease, one ending per task, events numbered per task. The real adapters are tested
 * against Postgres, Azurite and the emulator elsewhere; these only let the engine's logic run without them.
 */

interface LeaseRow {
  owner: string;
  expiresAt: number;
  slice: number;
  state: unknown;
  etag: number;
  takeovers: number;
}

export class FakeCheckpoints {
  readonly rows = new Map<string, LeaseRow>();
  readonly steps = new Map<string, Map<string, unknown>>();
  readonly waits = new Map<string, Map<string, WaitRecord>>();

  async acquire(taskId: string, owner: string, leaseMs: number): Promise<Lease | undefined> {
    const now = Date.now();
    const row = this.rows.get(taskId);
    if (!row) {
      const created = { owner, expiresAt: now + leaseMs, slice: 0, state: undefined, etag: 1, takeovers: 0 };
      this.rows.set(taskId, created);
      return {
        taskId,
        owner,
        etag: '1',
        expiresAt: created.expiresAt,
        slice: 0,
        state: undefined,
        created: true,
        takeovers: 0,
      };
    }
    if (row.owner && row.owner !== owner && row.expiresAt > now) return undefined;
    const takenOver = Boolean(row.owner) && row.owner !== owner;
    const takeovers = row.takeovers + (takenOver ? 1 : 0);
    Object.assign(row, { owner, expiresAt: now + leaseMs, etag: row.etag + 1, takeovers });
    return {
      taskId,
      owner,
      etag: String(row.etag),
      expiresAt: row.expiresAt,
      slice: row.slice,
      state: row.state,
      takenOver,
      takeovers,
    };
  }

  async leaseState(taskId: string) {
    const row = this.rows.get(taskId);
    return { live: Boolean(row?.owner) && (row?.expiresAt ?? 0) > Date.now(), nextSlice: row?.slice ?? 0 };
  }

  async renew(lease: Lease, leaseMs: number): Promise<void> {
    this.write(lease, { expiresAt: Date.now() + leaseMs });
  }

  async release(lease: Lease, slice: number): Promise<void> {
    this.write(lease, { owner: '', expiresAt: 0, slice });
    lease.slice = slice;
  }

  async saveState(lease: Lease, state: unknown): Promise<void> {
    this.write(lease, { state });
    lease.state = state;
  }

  async replay(lease: Lease): Promise<Replayed> {
    const waits = [...(this.waits.get(lease.taskId)?.values() ?? [])].map((w) => [w.name, { ...w }] as const);
    return { steps: new Map(this.steps.get(lease.taskId)), waits: new Map(waits) };
  }

  async startWait(lease: Lease, wait: WaitRecord): Promise<void> {
    this.write(lease, {});
    const waits = this.waits.get(lease.taskId) ?? new Map<string, WaitRecord>();
    waits.set(wait.name, { ...wait });
    this.waits.set(lease.taskId, waits);
  }

  async resolveWait(lease: Lease, name: string, outcome: unknown): Promise<void> {
    this.write(lease, {});
    const wait = this.waits.get(lease.taskId)?.get(name);
    if (wait) wait.outcome = outcome;
  }

  async commitStep(lease: Lease, name: string, result: unknown): Promise<void> {
    this.write(lease, {});
    const steps = this.steps.get(lease.taskId) ?? new Map<string, unknown>();
    if (steps.has(name)) throw new LeaseLostError(lease.taskId); // the step row exists: a create conflicts
    steps.set(name, result);
    this.steps.set(lease.taskId, steps);
  }

  /** A lease row as an earlier slice left it: `owner` '' is released; `expiresInMs` below 0 is an expired lease. */
  seed(taskId: string, row: { owner: string; slice: number; expiresInMs?: number }): void {
    const expiresAt = row.owner ? Date.now() + (row.expiresInMs ?? 60_000) : 0;
    this.rows.set(taskId, {
      owner: row.owner,
      expiresAt,
      slice: row.slice,
      state: undefined,
      etag: 1,
      takeovers: 0,
    });
  }

  /** Another worker takes the lease (it found it expired): every write of the old holder fails from now on. */
  takeOver(taskId: string, owner = 'other-worker'): void {
    const row = this.rows.get(taskId);
    if (row) Object.assign(row, { owner, etag: row.etag + 1, expiresAt: Date.now() + 60_000 });
  }

  private write(lease: Lease, patch: Partial<LeaseRow>): void {
    const row = this.rows.get(lease.taskId);
    if (!row || String(row.etag) !== lease.etag) throw new LeaseLostError(lease.taskId);
    Object.assign(row, patch, { etag: row.etag + 1 });
    lease.etag = String(row.etag);
  }
}

export class FakeTasks {
  readonly rows = new Map<string, TaskRow>();
  /** Signals by task id and name. */
  readonly signals = new Map<string, Map<string, StoredSignal>>();

  /** `events`: where finish() writes the terminal status event, as the real statement does. */
  constructor(private readonly events = new FakeEvents()) {}

  add(type: string, overrides: Partial<TaskRow> = {}): TaskRow {
    const now = new Date();
    const row: TaskRow = {
      id: randomUUID(),
      type,
      status: 'queued',
      owner: 'owner-1',
      idempotencyKey: null,
      requestHash: null,
      inputRef: `payloads/${randomUUID()}.json`,
      inputBytes: 2,
      resultRef: null,
      progress: null,
      error: null,
      attempts: 0,
      cancelRequested: false,
      traceId: null,
      traceContext: null,
      createdAt: now,
      startedAt: null,
      updatedAt: now,
      finishedAt: null,
      heartbeatAt: null,
      enqueuedAt: null,
      callbackUrl: null,
      callbackState: null,
      callbackAttempts: 0,
      callbackDueAt: null,
      callbackError: null,
      rerunOf: null,
      waiting: null,
      wakeAt: null,
      wakeSlice: null,
      maxDurationSeconds: null,
      redrives: 0,
      ...overrides,
    };
    this.rows.set(row.id, row);
    return row;
  }

  async find(id: string) {
    const row = this.rows.get(id);
    return row && { ...row };
  }

  async markRunning(id: string, attempt: number) {
    const row = this.rows.get(id);
    if (!row || isFinished(row.status)) return undefined;
    Object.assign(row, {
      status: 'running',
      attempts: Math.max(row.attempts, attempt),
      heartbeatAt: new Date(),
      waiting: null,
      wakeAt: null,
      wakeSlice: null,
    });
    row.startedAt ??= new Date();
    return { ...row };
  }

  async heartbeat(id: string) {
    return { cancelRequested: this.rows.get(id)?.cancelRequested ?? false };
  }

  async isCancelRequested(id: string) {
    return this.rows.get(id)?.cancelRequested ?? false;
  }

  async updateProgress(id: string, progress: Record<string, unknown>) {
    const row = this.rows.get(id);
    if (row?.status === 'running') row.progress = progress;
    return { cancelRequested: row?.cancelRequested ?? false };
  }

  async finish(
    id: string,
    status: TaskRow['status'],
    outcome: { resultRef?: string; error?: TaskRow['error'] },
    eventSeq: number,
  ) {
    const row = this.rows.get(id);
    if (!row || isFinished(row.status)) return undefined;
    Object.assign(row, {
      status,
      resultRef: outcome.resultRef ?? null,
      error: outcome.error ?? null,
      finishedAt: new Date(),
    });
    const data = outcome.error ? { status, error: outcome.error } : { status };
    const event = await this.events.append(id, { type: 'status', seq: eventSeq, data });
    return { task: { ...row }, event };
  }

  async suspend(id: string, suspension: Suspension, eventSeq: number) {
    const row = this.rows.get(id);
    if (!row || row.status !== 'running') return 'notRunning' as const;
    if (row.cancelRequested) return 'cancelRequested' as const;
    const { waiting, wakeAt, wakeSlice } = suspension;
    if (waiting.kind === 'signal' && this.signals.get(id)?.has(waiting.name)) return 'signalled' as const;
    Object.assign(row, { status: 'waiting', waiting, wakeAt, wakeSlice });
    const event = await this.events.append(id, {
      type: 'status',
      seq: eventSeq,
      data: { status: 'waiting', waiting },
    });
    return { task: { ...row }, event };
  }

  async signal(id: string, name: string) {
    return this.signals.get(id)?.get(name);
  }

  /** Keeps a signal, as POST /api/tasks/{id}/signals/{name} does (the first of each name). */
  addSignal(id: string, name: string, payload: unknown): void {
    const signals = this.signals.get(id) ?? new Map<string, StoredSignal>();
    if (!signals.has(name))
      signals.set(name, { name, payload, sender: 'owner-1', idempotencyKey: null, receivedAt: new Date() });
    this.signals.set(id, signals);
  }

  /** Every waiting task: which are overdue by time is the SQL's business. */
  async overdueWaiting() {
    return [...this.rows.values()].filter((t) => t.status === 'waiting').map((t) => ({ ...t }));
  }

  async markRedriven(id: string) {
    const row = this.rows.get(id);
    if (row) Object.assign(row, { redrives: row.redrives + 1, heartbeatAt: new Date() });
  }

  /** Every queued task never sent: which tasks are stale by time is the SQL's business, tested against Postgres. */
  async staleQueued() {
    return [...this.rows.values()]
      .filter((t) => t.status === 'queued' && !t.enqueuedAt)
      .map((t) => ({ ...t }));
  }

  async oldestQueued() {
    const queued = [...this.rows.values()].filter((t) => t.status === 'queued');
    return queued.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())[0];
  }

  /** Every running task: as above, the silence window is the SQL's. */
  async staleRunning() {
    return [...this.rows.values()].filter((t) => t.status === 'running').map((t) => ({ ...t }));
  }
}

export class FakeEvents {
  readonly rows: TaskEventRow[] = [];

  async append(
    taskId: string,
    event: { type: TaskEventRow['type']; seq?: number; level?: string; message?: string; data?: unknown },
  ) {
    const row: TaskEventRow = {
      taskId,
      seq: event.seq ?? (await this.lastSeq(taskId)) + 1,
      at: new Date(),
      type: event.type,
      level: event.level ?? null,
      message: event.message ?? null,
      data: event.data ?? null,
    };
    this.rows.push(row);
    return row;
  }

  async page(taskId: string, afterSeq: number, limit: number) {
    return this.of(taskId)
      .filter((e) => e.seq > afterSeq)
      .slice(0, limit);
  }

  async lastSeq(taskId: string) {
    return Math.max(0, ...this.of(taskId).map((e) => e.seq));
  }

  of(taskId: string): TaskEventRow[] {
    return this.rows.filter((e) => e.taskId === taskId).sort((a, b) => a.seq - b.seq);
  }

  /** The statuses the task went through, in order. */
  statuses(taskId: string): string[] {
    return this.of(taskId)
      .filter((e) => e.type === 'status')
      .map((e) => (e.data as { status: string }).status);
  }
}

/** A message the engine sent, in the order sent, with what the lease looked like at that moment. */
export interface Sent {
  message: SliceMessageToSend | WebhookMessage;
  options: SendOptions;
  leaseOwnerAtSend: string | undefined;
}

/** What a test's engine wrote where, besides the fakes' own state. */
export interface EngineWorld {
  ports: EnginePorts;
  tasks: FakeTasks;
  events: FakeEvents;
  checkpoints: FakeCheckpoints;
  blobs: Map<string, unknown>;
  sent: Sent[];
  published: TaskEventRow[];
  announced: string[];
  logs: string[];
  /** The settlement of one message: what the engine did with it. */
  settlement(): MessageSettlement & { outcome: string[] };
}

export function engineWorld(
  definitions: TaskDefinition[],
  settings: Partial<EnginePorts['settings']> = {},
): EngineWorld {
  const events = new FakeEvents();
  const tasks = new FakeTasks(events);
  const checkpoints = new FakeCheckpoints();
  const blobs = new Map<string, unknown>();
  const sent: Sent[] = [];
  const published: TaskEventRow[] = [];
  const announced: string[] = [];
  const logs: string[] = [];
  const notFound = (ref: string) =>
    Object.assign(new Error(`HTTP 404 BlobNotFound on GET /${ref}`), {
      statusCode: 404,
      code: 'BlobNotFound',
    });
  const dispatch: EnginePorts['dispatch'] = {
    send: async (_task, message, options) => {
      sent.push({ message, options, leaseOwnerAtSend: checkpoints.rows.get(message.taskId)?.owner });
    },
    enqueue: async (_task, message, options) => {
      sent.push({ message, options, leaseOwnerAtSend: checkpoints.rows.get(message.taskId)?.owner });
      return true;
    },
    // The real protocol, on the fake send.
    wake: (task, slice, messageId) => Dispatch.prototype.wake.call(dispatch, task, slice, messageId),
  };
  const ports: EnginePorts = {
    settings: {
      leaseSeconds: 60,
      heartbeatSeconds: 30,
      sliceBudgetSeconds: 60,
      retryMaxAttempts: 3,
      retryBaseSeconds: 1,
      sweepUnsentSeconds: 30,
      maxTakeovers: 3,
      stepAbortGraceSeconds: 1,
      ...settings,
    },
    signalLinks: { url: async (taskId, name) => `/api/tasks/${taskId}/signals/${name}?token=t` },
    tasks,
    taskEvents: events,
    callbacks: { takeOverdue: async () => [] },
    checkpoints,
    blobs: {
      getJson: async (ref) => {
        if (!blobs.has(ref)) throw notFound(ref);
        return blobs.get(ref);
      },
      putJson: async (container, name, bytes) => {
        const ref = `${container}/${name}`;
        blobs.set(ref, JSON.parse(Buffer.from(bytes).toString('utf8')));
        return ref;
      },
    },
    dispatch,
    catalog: new TaskCatalog(definitions),
    webhooks: {
      announce: async (task) => void (task && announced.push(task.id)),
      resend: async () => undefined,
    },
    live: () => ({ publish: (event) => void published.push(event) }),
    log: (level, message) => void logs.push(`${level} ${message}`),
  };
  return {
    ports,
    tasks,
    events,
    checkpoints,
    blobs,
    sent,
    published,
    announced,
    logs,
    settlement() {
      const outcome: string[] = [];
      return {
        outcome,
        complete: async () => void outcome.push('complete'),
        deadLetter: async (reason) => void outcome.push(`deadLetter ${reason}`),
      };
    },
  };
}
