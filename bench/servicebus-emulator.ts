import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ServiceBusClient } from '@azure/service-bus';
import { cpuMsOf } from './processes';

interface Throughput {
  sendPerSecond: number;
  batchSendPerSecond: number;
  receiveCompletePerSecond: number;
  /**
   * The emulator process's own CPU time per message received and completed. The SDK client shares the machine's
   * cores with it, so the rate above can be bound by the client; this is what the emulator itself spends.
   */
  emulatorCpuMicrosPerReceiveComplete: number;
  /** The same for the SDK client (this process): what the other side of each receive + complete costs. */
  clientCpuMicrosPerReceiveComplete: number;
}

/** In memory (the top-level figures), and again with `--data-dir`, where every acknowledgement waits for fdatasync. */
export interface ServiceBusEmulatorBenchResult extends Throughput {
  messages: number;
  sendConcurrency: number;
  persistent: Throughput;
}

const root = join(__dirname, '..', '..');

/**
 * Throughput through the real SDK against the emulator running as its own process, as `npm start` runs it. Each
 * measurement first sends and drains `messages / 4` untimed: until V8 has optimized the hot paths of both processes a
 * message costs about twice the CPU (measured: 5,000 messages from cold gave 4,900–5,800 receive + complete a second,
 * the same 5,000 after warm-up about 9,500), and a long-running emulator or host is warm.
 */
export async function benchServiceBusEmulator(
  messages = 20_000,
  sendConcurrency = 32,
): Promise<ServiceBusEmulatorBenchResult> {
  const memory = await measure(messages, sendConcurrency, []);
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-emulator-bench-'));
  try {
    const persistent = await measure(messages, sendConcurrency, ['--data-dir', dataDir]);
    return { messages, sendConcurrency, ...memory, persistent };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function measure(messages: number, sendConcurrency: number, extraArgs: string[]): Promise<Throughput> {
  const child = spawn(
    process.execPath,
    [
      join(__dirname, '../local-dev/servicebus-emulator/cli.js'),
      '--config',
      join(root, 'local-dev/servicebus-config.json'),
      '--port',
      '0',
      '--quiet',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [connectionString] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const client = new ServiceBusClient(connectionString);
  try {
    const sender = client.createSender('tasks');
    const sendInArrays = async (count: number, prefix: string) => {
      for (let i = 0; i < count; i += 100) {
        await sender.sendMessages(
          Array.from({ length: Math.min(100, count - i) }, (_, j) => ({
            body: { taskId: `${prefix}-${i + j}` },
            messageId: `${prefix}-${i + j}`,
          })),
        );
      }
    };
    // Consumed the way the Functions host does: subscribe() with concurrent handlers and auto-complete.
    const drainAll = async (expected: number) => {
      const receiver = client.createReceiver('tasks');
      let done = 0;
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        receiver.subscribe(
          {
            processMessage: async () => {
              if (++done === expected) resolve();
            },
            processError: async (args) => reject(args.error),
          },
          { maxConcurrentCalls: 32, autoCompleteMessages: true },
        );
      });
      const perSecond = expected / ((performance.now() - t0) / 1000);
      await receiver.close();
      return perSecond;
    };
    const warmUp = Math.ceil(messages / 4);
    await sendInArrays(warmUp, 'warm-up');
    await drainAll(warmUp);

    let next = 0;
    let start = performance.now();
    await Promise.all(
      Array.from({ length: sendConcurrency }, async () => {
        while (next < messages) {
          const i = next++;
          await sender.sendMessages({ body: { taskId: `t-${i}`, slice: 0 }, messageId: `single-${i}` });
        }
      }),
    );
    const sendPerSecond = messages / ((performance.now() - start) / 1000);

    const cpuBefore = cpuMsOf(child.pid!);
    const clientBefore = process.cpuUsage();
    const receiveCompletePerSecond = await drainAll(messages);
    const emulatorCpuMicrosPerReceiveComplete = ((cpuMsOf(child.pid!) - cpuBefore) * 1000) / messages;
    const clientUsed = process.cpuUsage(clientBefore);
    const clientCpuMicrosPerReceiveComplete = (clientUsed.user + clientUsed.system) / messages;

    start = performance.now();
    await sendInArrays(messages, 'batch');
    const batchSendPerSecond = messages / ((performance.now() - start) / 1000);
    await drainAll(messages);
    return {
      sendPerSecond,
      batchSendPerSecond,
      receiveCompletePerSecond,
      emulatorCpuMicrosPerReceiveComplete,
      clientCpuMicrosPerReceiveComplete,
    };
  } finally {
    await client.close();
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}
