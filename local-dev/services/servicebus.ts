import { join } from 'node:path';
import { startManagedProcess } from './managed-process';

const READY_TIMEOUT_MS = 20_000;
// The emulator's CLI prints its connection string as its first stdout line once it listens.
const CONNECTION_STRING = /^Endpoint=sb:\/\/\S+$/;

export interface ServiceBusEmulatorOptions {
  /** A `Config.json` of Microsoft's emulator (local-dev/servicebus-config.json). */
  configPath: string;
  /** Keep messages on disk under this folder, so a restart finds them. */
  dataDir: string;
  /** 0 → a free port. */
  port: number;
  /** Run detached, outliving this process, with its output in this file (see startManagedProcess). */
  logFile?: string;
  log?: (line: string) => void;
}

export interface ServiceBusEmulatorProcess {
  pid: number;
  connectionString: string;
  stop(): Promise<void>;
}

/** The project's Service Bus emulator (local-dev/servicebus-emulator) as a process of its own, from this build. */
export async function startServiceBusEmulatorProcess(
  options: ServiceBusEmulatorOptions,
): Promise<ServiceBusEmulatorProcess> {
  const emulator = await startManagedProcess({
    name: 'servicebus',
    command: process.execPath,
    args: [
      join(__dirname, '../servicebus-emulator/cli.js'),
      ...['--config', options.configPath, '--port', String(options.port), '--data-dir', options.dataDir],
    ],
    ready: (line) => (CONNECTION_STRING.test(line) ? line : undefined),
    readyTimeoutMs: READY_TIMEOUT_MS,
    logFile: options.logFile,
    log: options.log,
  });
  return { pid: emulator.pid, connectionString: emulator.value, stop: emulator.stop };
}
