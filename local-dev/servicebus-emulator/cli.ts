import { parseArgs } from 'node:util';
import { readEmulatorConfigFile } from './config';
import { parsePressureSpec } from './pressure';
import { startServiceBusEmulator } from './server';

const USAGE =
  'usage: servicebus-emulator --config <Config.json> [--port 5672] [--host 127.0.0.1] [--data-dir <dir>] [--pressure <spec>] [--quiet]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', default: 'local-dev/servicebus-config.json' },
      port: { type: 'string', default: '5672' },
      host: { type: 'string', default: '127.0.0.1' },
      'data-dir': { type: 'string' },
      pressure: { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port: "${values.port}" is not a port`);
  const pressure = values.pressure === undefined ? undefined : parsePressureSpec(values.pressure);
  const config = readEmulatorConfigFile(values.config);
  const emulator = await startServiceBusEmulator({
    config,
    port,
    host: values.host,
    dataDir: values['data-dir'],
    pressure,
    log: values.quiet ? undefined : (line) => console.error(`[servicebus-emulator] ${line}`),
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw err;
    throw new Error(
      `port ${port} on ${values.host} is in use (another AMQP broker?); choose another with --port, or 0 for a free one`,
    );
  });
  // The first line on stdout is the connection string, so scripts can read it.
  console.log(emulator.connectionString);
  if (!values.quiet) {
    console.error(
      `[servicebus-emulator] listening on ${values.host}:${emulator.port}; queues: ${config.queues.map((q) => q.name).join(', ')}`,
    );
  }
  const stop = () => {
    void emulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(`servicebus-emulator: ${err instanceof Error ? err.message : String(err)}`);
  console.error(USAGE);
  process.exit(1);
});
