import { bullmqDriver } from './bullmq-baseline';
import { longhaulDriver } from './longhaul-driver';
import { summarizeLatencies, type LatencySummary } from './stats';

/** One system's client side: submit a no-op task, and learn that it finished from the system's own event feed. */
export interface EndToEndDriver {
  /** Submits one task and resolves once the client has seen it finish. */
  roundTrip(): Promise<void>;
  /** Submits one task; `ended` settles once the shared event feed has seen it finish. */
  submit(): Promise<{ ended: Promise<void> }>;
  close(): Promise<void>;
}

export interface EndToEndClientOptions {
  system: 'longhaul' | 'bullmq';
  /** Longhaul's API base URL. */
  apiUrl?: string;
  /** BullMQ's Redis and queue. */
  redisUrl?: string;
  queue?: string;
  warmupTasks: number;
  /** Tasks submitted one after the other, each watched to its end: latency with nothing else in flight. */
  latencyTasks: number;
  /** Tasks submitted at once, `burstConcurrency` submissions in flight, all watched on one feed. */
  burstTasks: number;
  burstConcurrency: number;
}

export interface EndToEndClientResult {
  latency: LatencySummary;
  burst: {
    tasks: number;
    concurrency: number;
    seconds: number;
    tasksPerSecond: number;
    latency: LatencySummary;
  };
}

async function measure(driver: EndToEndDriver, o: EndToEndClientOptions): Promise<EndToEndClientResult> {
  for (let i = 0; i < o.warmupTasks; i++) await driver.roundTrip();

  const latencies: number[] = [];
  for (let i = 0; i < o.latencyTasks; i++) {
    const started = performance.now();
    await driver.roundTrip();
    latencies.push(performance.now() - started);
  }

  const burstLatencies: Promise<number>[] = [];
  let next = 0;
  const burstStart = performance.now();
  await Promise.all(
    Array.from({ length: o.burstConcurrency }, async () => {
      while (next < o.burstTasks) {
        next++;
        const started = performance.now();
        const { ended } = await driver.submit();
        burstLatencies.push(ended.then(() => performance.now() - started));
      }
    }),
  );
  const burst = await Promise.all(burstLatencies);
  const seconds = (performance.now() - burstStart) / 1000;
  return {
    latency: summarizeLatencies(latencies),
    burst: {
      tasks: o.burstTasks,
      concurrency: o.burstConcurrency,
      seconds,
      tasksPerSecond: o.burstTasks / seconds,
      latency: summarizeLatencies(burst),
    },
  };
}

/**
 * The load generator of one end-to-end session, in a process of its own so that neither system's client shares an
 * event loop with the stack (Azurite and the Service Bus emulator run in the benchmark's main process). Options as
 * JSON in argv[2]; prints the result as one JSON line.
 */
async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2]) as EndToEndClientOptions;
  const driver =
    o.system === 'longhaul' ? longhaulDriver(o.apiUrl!) : await bullmqDriver(o.redisUrl!, o.queue!);
  try {
    console.log(JSON.stringify(await measure(driver, o)));
  } finally {
    await driver.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
