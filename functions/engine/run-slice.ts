import { setTimeout as delay } from 'node:timers/promises';
import { ZodError } from 'zod';
import { plainMessage } from '../contract/plain-errors';
import { CONTAINERS, isBlobNotFound } from '../storage/blob-store';
import {
  CheckpointBlobMissingError,
  LeaseLostError,
  type Lease,
  type Replayed,
  type WaitRecord,
} from '../storage/checkpoint-store';
import { withTransientRetry } from '../platform/transient-retry';
import { PermanentError, SignalTimeoutError, type TaskContext, type TaskDefinition } from './define-task';
import { dueAt } from './durations';
import { CheckpointMissingError, PayloadMissingError } from './task-errors';
import type { LiveEventPublisher } from '../events/redis-event-publisher';
import { decodeMessage, type SliceMessage } from '../model/messages';
import { isFinished, type FinishedStatus, type TaskError, type TaskRow, type Waiting } from '../model/task';
import type { SuspendRefusal } from '../storage/task-repository';
import { messageIds } from './dispatch';
import type { EnginePorts, MessageSettlement } from './ports';
import { whileRunning } from './shutdown';
import { EventRecorder } from './event-recorder';
import { retryDelayMs } from '../platform/retry-backoff';
import { describeError } from '../platform/describe-error';
import type { LogLevel } from '../platform/logger';
import { appMetrics } from '../platform/metrics';
import { annotateActiveSpan, ATTR, withSpan } from '../platform/tracing';

/**
 * After a takeover, this worker's seqs start this far past the last persisted one: the worker that died may have
 * published live-only progress events with the seqs just after it, and streams that got those would drop this
 * worker's events with the same numbers as duplicates. (Live-only events come about ten a second, persisted ones at
 * least once a second, so a dead worker is never this far ahead.)
 */
const TAKEOVER_SEQ_GAP = 1_000_000;
/** Persisted events a takeover publishes again: more than a dead worker can have left unpublished. */
const REPUBLISH_EVENTS = 50;

/** The slice budget ran out: checkpoint and continue in a new message. */
class SliceBudgetSpent extends Error {
  constructor(readonly why: 'budget' | 'shutdown' = 'budget') {
    super(why === 'budget' ? 'slice budget spent' : 'the process is shutting down');
    this.name = 'SliceBudgetSpent';
  }
}

/** How long a step in flight may still run once the process is shutting down: within the host's grace period. */
const SHUTDOWN_STEP_GRACE_MS = 3_000;

/**
 * The task's first slice, about to start: its wait since submit is the queue wait. A retried task is queued again at a
 * later slice, and a continuation is not queued, so neither counts its time since submit as waiting.
 */
function startsTask(task: TaskRow, message: SliceMessage): boolean {
  return message.slice === 0 && task.status === 'queued';
}

interface RunningStep {
  name: string;
  startedAt: Date;
}

class TaskCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'TaskCancelled';
  }
}

/** The task ran past its maximum duration. */
class MaxDurationExceeded extends Error {
  constructor(readonly maxDurationSeconds: number) {
    super(`the task ran past its maximum duration of ${maxDurationSeconds} s`);
    this.name = 'MaxDurationExceeded';
  }
}

/** The task waits (a sleep, a signal): the slice ends and frees the worker; a message wakes the task. */
class TaskSuspended extends Error {
  constructor(readonly wait: WaitRecord) {
    super(`waiting: ${wait.kind} "${wait.name}"`);
    this.name = 'TaskSuspended';
  }
}

/**
 * A sleep this close to its end waits in the slice: a few seconds cost less than ending the slice and waking it. Never
 * longer than a heartbeat, the time a worker may be silent before anyone checks on it.
 */
const IN_SLICE_SLEEP_MS = 5_000;

/** What a signal wait came to, as its wait row keeps it. */
type SignalOutcome = { payload: unknown } | { timedOut: true };

/** Which invocation runs the slice, and how to settle its message (absent: a direct call, which only records). */
export interface SliceInvocation {
  invocationId: string;
  settlement?: MessageSettlement;
}

/**
 * Settling the slice's message: dead-lettered with a reason where the task failed for good, else completed once the
 * slice has done its work (never both).
 */
class Settlement {
  private settled = false;

  constructor(
    private readonly ports: EnginePorts,
    private readonly invocation: SliceInvocation,
  ) {}

  async deadLetter(reason: string, description: string): Promise<void> {
    this.ports.log('warn', `dead-lettering the message: ${reason}: ${description}`, {
      invocationId: this.invocation.invocationId,
    });
    appMetrics().deadLetters.add(1, { reason });
    this.settled = true;
    await this.invocation.settlement?.deadLetter(reason, description);
  }

  async complete(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    await this.invocation.settlement?.complete();
  }
}

/**
 * The Service Bus trigger: runs one slice of a task (design §4). Takes the task's lease, replays its checkpoints,
 * runs `run(input, ctx)` until it ends or the slice budget is spent, then finishes the task, or checkpoints and sends
 * the continuation, or schedules a retry. Never depends on a message lock or a function timeout longer than a slice.
 */
export async function runSlice(
  ports: EnginePorts,
  body: unknown,
  invocation: SliceInvocation,
): Promise<void> {
  const settle = new Settlement(ports, invocation);
  const decoded = decodeMessage(body);
  if (decoded.kind !== 'slice') {
    // Retrying cannot make it valid: dead-letter it at once.
    await settle.deadLetter('InvalidTaskMessage', decoded.kind === 'invalid' ? decoded.why : 'not a slice');
    return;
  }
  const message = decoded.message;
  const task = await withTransientRetry(() => ports.tasks.find(message.taskId));
  if (!task) {
    await settle.deadLetter('UnknownTask', `no task ${message.taskId}`);
    return;
  }
  if (isFinished(task.status)) {
    await settle.complete();
    return;
  }
  const attributes = {
    [ATTR.taskId]: task.id,
    [ATTR.taskType]: task.type,
    [ATTR.slice]: message.slice,
    [ATTR.attempt]: message.attempt,
  };
  // The trigger's span (a request in Application Insights) of a task's first slice carries its queue wait, whose
  // percentiles the metric's per-minute aggregates cannot give.
  annotateActiveSpan(
    startsTask(task, message)
      ? { ...attributes, [ATTR.queueWaitMs]: Date.now() - task.createdAt.getTime() }
      : attributes,
  );
  await withSpan('task.slice', attributes, () =>
    new Slice(ports, invocation.invocationId, task, message, settle).run(),
  );
  await settle.complete().catch((err: unknown) =>
    ports.log('warn', `completing the message: ${describeError(err)}`, {
      taskId: task.id,
      traceId: task.traceId,
    }),
  );
}

class Slice {
  private readonly abort = new AbortController();
  /** Set when no new step may start: the budget ran out, or the process is shutting down. */
  private budgetSpent: SliceBudgetSpent | undefined;
  private released = false;
  private lease!: Lease;
  private events!: EventRecorder;
  /** Lease writes (heartbeats, step commits, state) one at a time: each needs the ETag of the one before. */
  private leaseWrites: Promise<unknown> = Promise.resolve();
  private readonly timers: NodeJS.Timeout[] = [];
  /** The cancel flag was read at the slice's start and no step has run since: the first step needs no check. */
  private cancelFlagFresh = false;
  /** The step whose body is running, for heartbeats (the steps view). */
  private inFlight: RunningStep | undefined;
  /** Which step threw an error, so the failure it causes names that step (not one the task ran after catching it). */
  private readonly stepOfError = new WeakMap<object, RunningStep>();
  /** Set when the task asked to wait: the slice ends on it, whatever the task code does with the error. */
  private suspension: TaskSuspended | undefined;
  /**
   * Set when the slice stopped waiting for task code that ignored ctx.signal: a step that finishes after that has its
   * result refused, since the lease has moved on (or is about to).
   */
  private abandoned = false;
  /** When the task must have ended (its start plus its maximum duration). */
  private deadline: Date | undefined;

  constructor(
    private readonly ports: EnginePorts,
    private readonly invocationId: string,
    private readonly task: TaskRow,
    private readonly message: SliceMessage,
    private readonly settle: Settlement,
  ) {}

  private get settings() {
    return this.ports.settings;
  }

  async run(): Promise<void> {
    const { checkpoints, taskEvents, tasks } = this.ports;
    const { taskId, slice } = this.message;
    // A task that never ran has no lease row yet: creating it is the first try.
    const fresh = startsTask(this.task, this.message);
    const lease = await withTransientRetry(() =>
      checkpoints.acquire(taskId, this.invocationId, this.settings.leaseSeconds * 1000, fresh),
    );
    if (!lease) return this.leaveToLeaseHolder();
    this.lease = lease;
    if (lease.takenOver) appMetrics().leaseTakeovers.add(1, { [ATTR.taskType]: this.task.type });
    if (slice < lease.slice) {
      // A duplicate of a slice that already ran: the lease holder sent its own continuation.
      this.log('info', `slice ${slice} already ran (next is ${lease.slice}); nothing to do`);
      await checkpoints.release(lease, lease.slice);
      return;
    }
    const warn = (message: string) => this.log('warn', message);
    const publisher = this.ports.live(this.task.owner, warn);
    // Independent reads, each a round trip: side by side. Both come after the lease, which orders this worker's
    // events after those of the slice before.
    const [lastSeq, running] = await Promise.all([
      taskEvents.lastSeq(taskId),
      withTransientRetry(() => tasks.markRunning(taskId, this.message.attempt)),
    ]);
    if (lease.takenOver) await this.republishAfterTakeover(publisher, lastSeq);
    this.events = new EventRecorder(
      taskId,
      lease.takenOver ? lastSeq + TAKEOVER_SEQ_GAP : lastSeq,
      tasks,
      taskEvents,
      publisher,
      (err) => warn(`event not recorded: ${describeError(err)}`),
    );
    try {
      await this.execute(running);
    } finally {
      for (const t of this.timers) clearTimeout(t);
      await this.events.drain();
    }
  }

  /**
   * A worker that died mid-slice may have persisted its last events without publishing them, so live streams would
   * skip them: publish them again (streams drop what they already have, by seq).
   */
  private async republishAfterTakeover(publisher: LiveEventPublisher, lastSeq: number): Promise<void> {
    const recent = await this.ports.taskEvents.page(
      this.message.taskId,
      Math.max(0, lastSeq - REPUBLISH_EVENTS),
      REPUBLISH_EVENTS,
    );
    for (const event of recent) publisher.publish(event);
  }

  /** Another worker holds a live lease: check again when it expires, in case that worker died. */
  private async leaveToLeaseHolder(): Promise<void> {
    const { taskId, slice, attempt } = this.message;
    const recheckAt = new Date(Date.now() + (this.settings.leaseSeconds + 1) * 1000);
    this.log('info', `another worker holds the lease; re-checking at ${recheckAt.toISOString()}`);
    await withTransientRetry(() =>
      this.ports.dispatch.send(
        this.task,
        { taskId, slice, attempt },
        { scheduledAt: recheckAt, messageId: messageIds.recheck(taskId, slice, recheckAt) },
      ),
    );
  }

  /** `running`: the task's row as marking it running left it; undefined when it was no longer queued or running. */
  private async execute(running: TaskRow | undefined): Promise<void> {
    const { catalog, blobs } = this.ports;
    const { taskId, slice, attempt } = this.message;
    if (!running) return this.releaseLease(this.lease.slice);
    this.cancelFlagFresh = true;
    if (running.cancelRequested) return this.end('cancelled');
    const definition = catalog.get(this.task.type);
    if (!definition)
      return this.fail({ code: 'unknown_type', message: `unknown task type ${this.task.type}` });
    const { maxDurationSeconds, startedAt } = running;
    if (maxDurationSeconds && startedAt)
      this.deadline = new Date(startedAt.getTime() + maxDurationSeconds * 1000);
    const limit = this.limitReached(running);
    if (limit) return this.fail(limit);
    if (startsTask(this.task, this.message))
      appMetrics().queueWait.record((Date.now() - this.task.createdAt.getTime()) / 1000, this.typeAttribute);
    if (this.task.status === 'queued' || this.task.status === 'waiting') {
      // Not waited for: the recorder writes events in order, and the slice drains it before it ends.
      void this.events.status('running');
    }

    // At the end of the budget no new step starts; a step still running gets a grace period before the signal
    // fires, so short steps finish and are checkpointed instead of running again in the next slice.
    const budgetMs = this.settings.sliceBudgetSeconds * 1000;
    this.timers.push(
      setTimeout(() => this.endEarly(new SliceBudgetSpent(), Math.max(1_000, budgetMs / 10)), budgetMs),
    );
    const unregister = whileRunning(() =>
      this.endEarly(new SliceBudgetSpent('shutdown'), SHUTDOWN_STEP_GRACE_MS),
    );
    if (this.deadline && this.deadline.getTime() - Date.now() < budgetMs) {
      const max = running.maxDurationSeconds ?? 0;
      this.timers.push(
        setTimeout(
          () => this.abort.abort(new MaxDurationExceeded(max)),
          this.deadline.getTime() - Date.now(),
        ),
      );
    }
    this.startHeartbeat();
    try {
      if (this.lease.created && this.ranBefore) {
        throw new CheckpointMissingError(`lease row (partition ${taskId} of the checkpoint table)`);
      }
      const [payload, replayed] = await Promise.all([this.readPayload(), this.replayCheckpoints()]);
      const input = definition.input.parse(payload);
      const result = await this.unlessUnresponsive(
        definition.run(input, this.contextFor(definition, replayed)),
      );
      if (this.suspension) throw this.suspension;
      await this.leaseWrites;
      const resultJson = Buffer.from(JSON.stringify(result ?? null));
      const resultRef = await withTransientRetry(() =>
        blobs.putJson(CONTAINERS.results, `${taskId}.json`, resultJson, true),
      );
      await this.end('succeeded', { resultRef });
    } catch (caught) {
      const err = this.abort.signal.aborted ? this.abort.signal.reason : (this.suspension ?? caught);
      if (err instanceof LeaseLostError || caught instanceof LeaseLostError) {
        this.log('warn', 'lease lost; the worker that took it carries on');
      } else if (err instanceof SliceBudgetSpent) {
        // In the task's history, so a timeline shows where each slice ended.
        const why = err.why === 'budget' ? 'used its budget' : 'stopped: the worker is shutting down';
        await this.events.log('info', `slice ${slice} ${why}; continuing in slice ${slice + 1}`, {
          slice,
          nextSlice: slice + 1,
          ...(err.why === 'shutdown' ? { reason: 'shutdown' } : {}),
        });
        await this.continueIn(slice + 1, attempt);
      } else if (err instanceof TaskCancelled) {
        await this.end('cancelled');
      } else if (err instanceof MaxDurationExceeded) {
        await this.fail({ code: 'max_duration_exceeded', message: err.message });
      } else if (err instanceof TaskSuspended) {
        await this.suspend(err.wait);
      } else if (caught instanceof PermanentError) {
        await this.fail({ code: caught.code, message: describeError(caught) }, caught);
      } else if (caught instanceof ZodError) {
        const issue = caught.issues[0];
        const message = issue
          ? `${issue.path.join('.') || 'input'}: ${plainMessage(issue)}`
          : 'invalid input';
        await this.fail({ code: 'invalid_input', message });
      } else {
        await this.retryOrFail(caught);
      }
    } finally {
      unregister();
    }
  }

  /**
   * Whether a slice of the task ran before: a continuation, or a task some worker marked running (always after
   * writing its lease row). Its lease row must then exist.
   */
  private get ranBefore(): boolean {
    return this.message.slice > 0 || this.task.status === 'running';
  }

  /** The completed steps of earlier slices. A checkpoint blob that is gone stays gone: the task fails without a retry. */
  private async replayCheckpoints(): Promise<Replayed> {
    try {
      return await withTransientRetry(() => this.ports.checkpoints.replay(this.lease));
    } catch (err) {
      if (err instanceof CheckpointBlobMissingError)
        throw new CheckpointMissingError(err.message, { cause: err });
      throw err;
    }
  }

  /** The task's input, from its claim-check blob. A blob that is gone stays gone: the task fails without a retry. */
  private async readPayload(): Promise<unknown> {
    const ref = this.task.inputRef;
    try {
      return await withTransientRetry(() => this.ports.blobs.getJson(ref));
    } catch (err) {
      if (isBlobNotFound(err)) throw new PayloadMissingError(ref, { cause: err });
      throw err;
    }
  }

  /**
   * A limit the task has reached before this slice runs anything: its maximum duration, or MAX_TAKEOVERS lease
   * takeovers or sweeper re-drives (a task that keeps killing its worker).
   */
  private limitReached(running: TaskRow): { code: string; message: string } | undefined {
    const max = running.maxDurationSeconds;
    if (max && this.deadline && this.deadline.getTime() <= Date.now())
      return { code: 'max_duration_exceeded', message: new MaxDurationExceeded(max).message };
    const cap = this.settings.maxTakeovers;
    if (this.lease.takeovers > cap)
      return {
        code: 'takeover_limit',
        message: `its lease was taken over ${this.lease.takeovers} times from a worker that went silent (MAX_TAKEOVERS ${cap})`,
      };
    if (running.redrives > cap)
      return {
        code: 'takeover_limit',
        message: `the sweeper re-drove it ${running.redrives} times after its worker went silent (MAX_TAKEOVERS ${cap})`,
      };
    return undefined;
  }

  /**
   * The task code's outcome, unless it ignores ctx.signal: STEP_ABORT_GRACE_SECONDS after the signal fired the slice
   * stops waiting for it, reports the step that did not stop (log and metric), and ends on the signal's reason. The
   * step may go on running in this process; whatever it returns is refused (see `step`).
   */
  private unlessUnresponsive<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      work.then(
        (value) => {
          settled = true;
          resolve(value);
        },
        (err: unknown) => {
          settled = true;
          reject(err);
        },
      );
      const giveUp = () =>
        this.timers.push(
          setTimeout(() => {
            if (settled) return;
            this.abandoned = true;
            const step = this.inFlight?.name;
            appMetrics().stepsUnresponsive.add(1, this.typeAttribute);
            this.log(
              'warn',
              `${step ? `step "${step}"` : 'the task code'} did not stop within ${this.settings.stepAbortGraceSeconds} s of ctx.signal; the slice ends without it and refuses its result`,
            );
            reject(this.abort.signal.reason);
          }, this.settings.stepAbortGraceSeconds * 1000),
        );
      if (this.abort.signal.aborted) giveUp();
      else this.abort.signal.addEventListener('abort', giveUp, { once: true });
    });
  }

  /** A step finished after the slice gave up on it, or after its lease moved on: its result is not kept. */
  private refuseResult(name: string): void {
    appMetrics().stepResultsRefused.add(1, this.typeAttribute);
    this.log('warn', `step "${name}" finished after its slice gave it up; its result is refused`);
  }

  /**
   * The slice ends on a wait: the lease is released first (a wake-up that comes at once finds it free), then the task
   * is left `waiting` with what it waits for, then the message that ends the wait is scheduled (at the sleep's end or
   * the timeout, or the deadline if sooner; a wait with neither gets none: its signal sends one). A crash before the
   * task is waiting leaves it running with no heartbeat: the sweeper re-drives it and the replay waits again. A crash
   * before the message leaves it waiting past its wake time: the sweeper sends the message.
   */
  private async suspend(wait: WaitRecord): Promise<void> {
    const { taskId, slice, attempt } = this.message;
    const waiting: Waiting = { kind: wait.kind, name: wait.name, until: wait.dueAt?.toISOString() ?? null };
    const ends = [wait.dueAt, this.deadline].filter((d): d is Date => d !== undefined && d !== null);
    const wakeAt = ends.length > 0 ? new Date(Math.min(...ends.map((d) => d.getTime()))) : null;
    const wakeSlice = slice + 1;
    await this.events.flushProgress();
    await this.releaseLease(wakeSlice);
    let refusal: SuspendRefusal | undefined;
    await this.events.statusChange(async (seq) => {
      const outcome = await withTransientRetry(() =>
        this.ports.tasks.suspend(taskId, { waiting, wakeAt, wakeSlice }, seq),
      );
      if (typeof outcome !== 'string') return outcome;
      refusal = outcome;
      return undefined;
    });
    if (refusal === 'cancelRequested') return this.end('cancelled');
    if (refusal === 'notRunning') return;
    // The signal came while the slice was ending: the task runs on in the next slice.
    if (refusal === 'signalled') return this.sendSlice(wakeSlice, attempt);
    this.log(
      'info',
      `waiting for ${wait.kind} "${wait.name}"${wakeAt ? ` until ${wakeAt.toISOString()}` : ''}`,
    );
    if (wakeAt) await this.sendSlice(wakeSlice, attempt, wakeAt);
  }

  /** Records a wait's start (its due time fixed from now on), under the lease. */
  private async startWait(waits: Map<string, WaitRecord>, wait: WaitRecord): Promise<WaitRecord> {
    await this.writeLease(() => this.ports.checkpoints.startWait(this.lease, wait));
    waits.set(wait.name, wait);
    return wait;
  }

  /** Records what a wait came to, under the lease: every later replay sees it. */
  private async resolveWait(wait: WaitRecord, outcome: SignalOutcome): Promise<void> {
    await this.writeLease(() => this.ports.checkpoints.resolveWait(this.lease, wait.name, outcome));
    wait.outcome = outcome;
  }

  /** Nothing new may start: the budget is spent, the task was cancelled, or it waits already. */
  private throwIfStopping(): void {
    if (this.suspension) throw this.suspension;
    if (this.budgetSpent) throw this.budgetSpent;
    this.throwIfAborted();
  }

  /** The slice ends on this wait. */
  private suspendFor(wait: WaitRecord): TaskSuspended {
    this.suspension = new TaskSuspended(wait);
    return this.suspension;
  }

  /** A sleep: returns once its time has come, waiting in the slice for the last few seconds, else suspending. */
  private async sleep(
    waits: Map<string, WaitRecord>,
    name: string,
    until: Parameters<TaskContext['sleep']>[1],
  ) {
    const wait = await this.waitNamed(waits, name, 'sleep', () => dueAt(until));
    const left = (wait.dueAt?.getTime() ?? 0) - Date.now();
    if (left <= 0) return;
    if (left > Math.min(IN_SLICE_SLEEP_MS, this.settings.heartbeatSeconds * 1000))
      throw this.suspendFor(wait);
    await delay(left, undefined, { signal: this.abort.signal }).catch(() => this.throwIfAborted());
  }

  /**
   * The wait of that name as replayed, or, the first time, one that starts now and ends at `due()` (recorded under
   * the lease). Sleeps and signal waits share one namespace.
   */
  private async waitNamed(
    waits: Map<string, WaitRecord>,
    name: string,
    kind: WaitRecord['kind'],
    due: () => Date | null,
  ): Promise<WaitRecord> {
    const wait = waits.get(name);
    if (wait && wait.kind !== kind)
      throw new PermanentError(
        `"${name}" names a ${wait.kind} of this task already: each wait needs a name of its own`,
      );
    if (wait) return wait;
    this.throwIfStopping();
    return this.startWait(waits, { name, kind, startedAt: new Date(), dueAt: due() });
  }

  /** A signal wait: the signal's payload (kept before or during the wait), a timeout, or the slice ends on it. */
  private async waitForEvent(
    definition: TaskDefinition,
    waits: Map<string, WaitRecord>,
    name: string,
    options: Parameters<TaskContext['waitForEvent']>[1] = {},
  ): Promise<unknown> {
    const schema = definition.signals?.[name];
    if (!schema || (options.schema && options.schema !== schema)) {
      throw new PermanentError(
        `task type ${definition.type} declares no signal "${name}"${schema ? ' with that schema' : ''}: list it, with its schema, in the definition's signals`,
        'undeclared_signal',
      );
    }
    const { timeout } = options;
    const wait = await this.waitNamed(waits, name, 'signal', () =>
      timeout === undefined ? null : dueAt(timeout),
    );
    if (wait.outcome === undefined) {
      const signal = await withTransientRetry(() => this.ports.tasks.signal(this.message.taskId, name));
      if (signal) await this.resolveWait(wait, { payload: signal.payload });
      else if (wait.dueAt && wait.dueAt.getTime() <= Date.now())
        await this.resolveWait(wait, { timedOut: true });
      else throw this.suspendFor(wait);
    }
    const outcome = wait.outcome as SignalOutcome;
    if ('timedOut' in outcome) throw new SignalTimeoutError(name, wait.dueAt ?? wait.startedAt);
    // Checked when it was sent; parsed here for the schema's defaults and transforms.
    return schema.parse(outcome.payload);
  }

  /** No new step starts from now on; a step still running gets `graceMs` before the abort signal fires. */
  private endEarly(reason: SliceBudgetSpent, graceMs: number): void {
    this.budgetSpent ??= reason;
    const first = this.budgetSpent;
    this.timers.push(setTimeout(() => this.abort.abort(first), graceMs));
  }

  /** The task's view of the engine: memoized steps, loop state, progress, logs, and the abort signal. */
  private contextFor(definition: TaskDefinition, replayed: Replayed): TaskContext {
    const { tasks, checkpoints, signalLinks } = this.ports;
    const { steps: completed, waits } = replayed;
    const { taskId } = this.message;
    const lease = this.lease;
    return {
      taskId,
      attempt: this.message.attempt,
      signal: this.abort.signal,
      get state() {
        return lease.state;
      },
      sleep: (name, until) => this.sleep(waits, name, until),
      waitForEvent: (name, options) => this.waitForEvent(definition, waits, name, options) as Promise<never>,
      signalUrl: (name) => signalLinks.url(taskId, name),
      step: async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
        if (completed.has(name)) return completed.get(name) as T;
        this.throwIfStopping();
        // Between steps, not only on heartbeats, so a cancelled task stops within one step. Before the slice's first
        // step, the read that marked the task running stands.
        if (!this.cancelFlagFresh && (await tasks.isCancelRequested(taskId)))
          this.abort.abort(new TaskCancelled());
        this.cancelFlagFresh = false;
        this.throwIfAborted();
        const result = await withSpan('task.step', { [ATTR.step]: name }, async () => {
          const running = { name, startedAt: new Date() };
          this.inFlight = running;
          try {
            const value = await fn();
            if (this.abandoned) {
              this.refuseResult(name);
              throw new LeaseLostError(taskId);
            }
            const timing = { ...running, slice: this.message.slice, attempt: this.message.attempt };
            await this.writeLease(() => checkpoints.commitStep(this.lease, name, value, timing));
            return value;
          } catch (err) {
            if (err instanceof LeaseLostError && this.abort.signal.aborted && !this.abandoned)
              this.refuseResult(name);
            if (err !== null && typeof err === 'object' && !this.stepOfError.has(err))
              this.stepOfError.set(err, running);
            throw err;
          } finally {
            if (this.inFlight === running) this.inFlight = undefined;
          }
        });
        completed.set(name, result);
        await this.events.flushProgress();
        return result;
      },
      checkpoint: (state: unknown) => this.writeLease(() => checkpoints.saveState(this.lease, state)),
      progress: (progress) => this.events.progress(progress),
      log: (level, message, data) => void this.events.log(level, message, data),
    };
  }

  private throwIfAborted(): void {
    if (this.abort.signal.aborted) throw this.abort.signal.reason;
  }

  private writeLease(write: () => Promise<void>): Promise<void> {
    const next = this.leaseWrites.then(write);
    this.leaseWrites = next.catch(() => undefined);
    return next;
  }

  private startHeartbeat(): void {
    const beat = async () => {
      if (this.released) return;
      try {
        await this.writeLease(() =>
          this.ports.checkpoints.renew(this.lease, this.settings.leaseSeconds * 1000, this.inFlight),
        );
        const { cancelRequested } = await this.ports.tasks.heartbeat(this.message.taskId);
        if (cancelRequested) this.abort.abort(new TaskCancelled());
      } catch (err) {
        if (err instanceof LeaseLostError) this.abort.abort(err);
        else this.log('warn', `heartbeat failed: ${describeError(err)}`);
      }
      if (!this.abort.signal.aborted)
        this.timers.push(setTimeout(beat, this.settings.heartbeatSeconds * 1000));
    };
    this.timers.push(setTimeout(beat, this.settings.heartbeatSeconds * 1000));
  }

  /** Releases the lease first: if the send then fails, the sweeper finds a free lease and re-drives the task. */
  private async continueIn(nextSlice: number, attempt: number, scheduledAt?: Date): Promise<void> {
    this.log('info', `slice ${this.message.slice} ended; the task continues in slice ${nextSlice}`);
    await this.events.flushProgress();
    await this.releaseLease(nextSlice);
    await this.sendSlice(nextSlice, attempt, scheduledAt);
  }

  /** The message of slice `slice` (its usual id), for now or for later. */
  private sendSlice(slice: number, attempt: number, scheduledAt?: Date): Promise<void> {
    const { taskId } = this.message;
    return withTransientRetry(() =>
      this.ports.dispatch.send(
        this.task,
        { taskId, slice, attempt },
        { scheduledAt, messageId: messageIds.slice(taskId, slice) },
      ),
    );
  }

  private async retryOrFail(err: unknown): Promise<void> {
    const message = describeError(err);
    const { attempt, slice } = this.message;
    if (attempt >= this.settings.retryMaxAttempts) {
      return this.fail({ code: 'retries_exhausted', message: `attempt ${attempt} failed: ${message}` }, err);
    }
    const delayMs = retryDelayMs(attempt + 1, this.settings.retryBaseSeconds);
    appMetrics().taskRetries.add(1, this.typeAttribute);
    await this.events.log('warn', `attempt ${attempt} failed; retrying in ${Math.round(delayMs / 1000)} s`, {
      error: message,
      attempt,
      nextAttempt: attempt + 1,
      delayMs,
      ...this.failedStep(err),
    });
    await this.continueIn(slice + 1, attempt + 1, new Date(Date.now() + delayMs));
  }

  /** The step that threw `err`, in the shape the steps view reads (event-repository.ts). */
  private failedStep(err: unknown): { failedStep?: string; stepStartedAt?: string } {
    const step = err !== null && typeof err === 'object' ? this.stepOfError.get(err) : undefined;
    return step ? { failedStep: step.name, stepStartedAt: step.startedAt.toISOString() } : {};
  }

  /**
   * Fails the task for good. When `cause` came from a step, the error names the step, and a log event of its own says
   * when it started (the steps view counts it as a failed attempt of that step).
   */
  private async fail(error: { code: string; message: string }, cause?: unknown): Promise<void> {
    const step = this.failedStep(cause);
    if (step.failedStep) {
      await this.events.log('warn', `step "${step.failedStep}" failed in attempt ${this.message.attempt}`, {
        error: error.message,
        attempt: this.message.attempt,
        ...step,
      });
    }
    await this.end('failed', { error: step.failedStep ? { ...error, step: step.failedStep } : error });
    await this.settle.deadLetter(error.code, error.message);
  }

  private async end(
    status: FinishedStatus,
    outcome: { resultRef?: string; error?: TaskError } = {},
  ): Promise<void> {
    await this.events.flushProgress();
    const ended = await this.events.statusChange((seq) =>
      withTransientRetry(() => this.ports.tasks.finish(this.message.taskId, status, outcome, seq)),
    );
    if (ended) {
      this.log(status === 'failed' ? 'warn' : 'info', `task ${status} in slice ${this.message.slice}`);
      this.recordEnd(ended);
    }
    await this.releaseLease(this.message.slice + 1);
    await this.ports.webhooks.announce(ended);
  }

  /** The engine's own lines, with the task's ids; its trace id too, for lines written outside its spans. */
  private log(level: LogLevel, message: string): void {
    const { taskId, slice, attempt } = this.message;
    this.ports.log(level, message, {
      taskId,
      slice,
      attempt,
      traceId: this.task.traceId,
      invocationId: this.invocationId,
    });
  }

  private get typeAttribute() {
    return { [ATTR.taskType]: this.task.type };
  }

  /** The metrics of a task that just ended. */
  private recordEnd(ended: TaskRow): void {
    const m = appMetrics();
    const counter = { succeeded: m.tasksSucceeded, failed: m.tasksFailed, cancelled: m.tasksCancelled }[
      ended.status as FinishedStatus
    ];
    counter?.add(1, this.typeAttribute);
    const finishedAt = ended.finishedAt?.getTime() ?? Date.now();
    m.taskDuration.record((finishedAt - ended.createdAt.getTime()) / 1000, this.typeAttribute);
    m.taskSlices.record(this.message.slice + 1, this.typeAttribute);
  }

  /** Stops the heartbeat, then releases after every other lease write: each needs the ETag of the one before. */
  private releaseLease(nextSlice: number): Promise<void> {
    this.released = true;
    for (const t of this.timers) clearTimeout(t);
    return this.writeLease(() => this.ports.checkpoints.release(this.lease, nextSlice));
  }
}
