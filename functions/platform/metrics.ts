import { metrics, type Counter, type Histogram, type UpDownCounter } from '@opentelemetry/api';

/** The app's metrics (docs/operations.md#telemetry lists them with their meaning). */
export interface AppMetrics {
  tasksSubmitted: Counter;
  tasksSucceeded: Counter;
  tasksFailed: Counter;
  tasksCancelled: Counter;
  /** Seconds from submit to the first slice starting. */
  queueWait: Histogram;
  /** Seconds from submit to the end, for tasks that ended. */
  taskDuration: Histogram;
  /** Slices a task took, recorded when it ends. */
  taskSlices: Histogram;
  taskRetries: Counter;
  deadLetters: Counter;
  checkpointLatency: Histogram;
  leaseTakeovers: Counter;
  sseOpenStreams: UpDownCounter;
  /** Event streams that failed (`kind: stream_failed`) or could not read missed events (`kind: catch_up_failed`). */
  sseErrors: Counter;
  fanoutLatency: Histogram;
  /** What the sweeper re-drove, by `reason`: `unsent`, `lost`, `stalled`, `wake`, `webhook`. */
  sweeperRedrives: Counter;
  /** Age of the oldest queued task, recorded at each sweep (0 when none is queued). */
  oldestQueuedAge: Histogram;
  /** Slices that gave up on task code ignoring ctx.signal past STEP_ABORT_GRACE_SECONDS. */
  stepsUnresponsive: Counter;
  /** Step results refused because the step finished after its slice gave it up or its lease moved on. */
  stepResultsRefused: Counter;
}

let instruments: AppMetrics | undefined;

/**
 * The instruments, created at first use: the metrics API has no proxy, so a meter taken before the telemetry set-up
 * registered its provider would stay a no-op. With telemetry off they are the API's no-op instruments.
 */
export function appMetrics(): AppMetrics {
  if (instruments) return instruments;
  const meter = metrics.getMeter('longhaul');
  instruments = {
    tasksSubmitted: meter.createCounter('longhaul.tasks.submitted', {
      description: 'Tasks accepted, by type',
    }),
    tasksSucceeded: meter.createCounter('longhaul.tasks.succeeded', { description: 'Tasks that succeeded' }),
    tasksFailed: meter.createCounter('longhaul.tasks.failed', { description: 'Tasks that failed' }),
    tasksCancelled: meter.createCounter('longhaul.tasks.cancelled', { description: 'Tasks cancelled' }),
    queueWait: meter.createHistogram('longhaul.task.queue_wait', {
      description: 'Time from submit to the first slice starting',
      unit: 's',
    }),
    taskDuration: meter.createHistogram('longhaul.task.duration', {
      description: 'Time from submit to the end of a task',
      unit: 's',
    }),
    taskSlices: meter.createHistogram('longhaul.task.slices', {
      description: 'Slices a task took, when it ends',
      unit: '{slice}',
    }),
    taskRetries: meter.createCounter('longhaul.task.retries', {
      description: 'Attempts scheduled again after a transient failure',
    }),
    deadLetters: meter.createCounter('longhaul.deadletters', {
      description: 'Messages dead-lettered, by reason',
    }),
    checkpointLatency: meter.createHistogram('longhaul.checkpoint.latency', {
      description: 'Checkpoint save and load time',
      unit: 'ms',
    }),
    leaseTakeovers: meter.createCounter('longhaul.lease.takeovers', {
      description: 'Leases taken over from a worker that went silent (stalls)',
    }),
    sseOpenStreams: meter.createUpDownCounter('longhaul.sse.open_streams', {
      description: 'Server-Sent Events streams open in this process',
    }),
    sseErrors: meter.createCounter('longhaul.sse.errors', {
      description: 'Event streams that failed, or could not read the events they missed, by kind',
    }),
    sweeperRedrives: meter.createCounter('longhaul.sweeper.redrives', {
      description: 'Tasks and webhook deliveries the sweeper sent again, by reason',
    }),
    oldestQueuedAge: meter.createHistogram('longhaul.tasks.oldest_queued_age', {
      description: 'Age of the oldest queued task, at each sweep',
      unit: 's',
    }),
    stepsUnresponsive: meter.createCounter('longhaul.steps.unresponsive', {
      description: 'Steps that did not stop within the grace period after ctx.signal fired',
    }),
    stepResultsRefused: meter.createCounter('longhaul.steps.refused', {
      description:
        'Step results refused: the step finished after its slice gave it up, or its lease moved on',
    }),
    fanoutLatency: meter.createHistogram('longhaul.progress.fanout_latency', {
      description: 'Time from an event being recorded to its arrival at a process with streams on it',
      unit: 'ms',
    }),
  };
  return instruments;
}
