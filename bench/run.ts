import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { benchServiceBusEmulator } from './servicebus-emulator';

/** Runs every benchmark and writes bench/results/<name>.json. */
async function main(): Promise<void> {
  const dir = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    date: new Date().toISOString(),
  };

  const sb = await benchServiceBusEmulator();
  writeFileSync(join(dir, 'servicebus-emulator.json'), JSON.stringify({ machine, ...sb }, null, 2) + '\n');
  console.log(
    `servicebus-emulator: send ${sb.sendPerSecond.toFixed(0)} msg/s (single messages, ${sb.sendConcurrency} in flight), ` +
      `batch send ${sb.batchSendPerSecond.toFixed(0)} msg/s, receive+complete ${sb.receiveCompletePerSecond.toFixed(0)} msg/s ` +
      `(${sb.messages} messages)`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
