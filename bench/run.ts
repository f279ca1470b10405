import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { benchEngine } from './engine';
import { benchProgress } from './progress';
import { benchServiceBusEmulator } from './servicebus-emulator';
import { benchSubmit } from './submit';

/** Runs every benchmark (or those named on the command line) and writes bench/results/<name>.json. */
async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const wanted = (name: string) => only.length === 0 || only.includes(name);
  const dir = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    date: new Date().toISOString(),
  };
  const save = (name: string, result: object) =>
    writeFileSync(join(dir, `${name}.json`), JSON.stringify({ machine, ...result }, null, 2) + '\n');

  if (wanted('servicebus-emulator')) {
    const sb = await benchServiceBusEmulator();
    save('servicebus-emulator', sb);
    console.log(
      `servicebus-emulator: send ${sb.sendPerSecond.toFixed(0)} msg/s (single messages, ${sb.sendConcurrency} in flight), ` +
        `batch send ${sb.batchSendPerSecond.toFixed(0)} msg/s, receive+complete ${sb.receiveCompletePerSecond.toFixed(0)} msg/s ` +
        `(${sb.messages} messages)`,
    );
  }
  if (wanted('engine')) {
    const engine = await benchEngine();
    save('engine', engine);
    const c = engine.checkpoint;
    console.log(
      `engine: ${c.steps} steps of ${c.stepMs} ms took ${(c.engineMs / 1000).toFixed(1)} s vs ${(c.baselineMs / 1000).toFixed(1)} s ` +
        `of bare sleeps: checkpoint overhead ${(c.overheadShare * 100).toFixed(0)} % (${c.overheadPerStepMs.toFixed(1)} ms per step)`,
    );
    console.log(
      `engine: worker killed after ${engine.crash.killedAfterSteps} of ${engine.crash.steps} steps: ` +
        `${engine.crash.reExecutedSteps} step(s) re-executed, finished ${(engine.crash.recoveryMs / 1000).toFixed(1)} s after the kill`,
    );
  }
  if (wanted('progress')) {
    const progress = await benchProgress();
    save('progress', { results: progress });
    for (const r of progress) {
      console.log(
        `progress: ${r.streams} stream(s): ctx.progress -> SSE client p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms (${r.events} events)`,
      );
    }
  }
  if (wanted('submit')) {
    const submit = await benchSubmit();
    save('submit', submit);
    for (const [name, rows] of [
      ['submit', submit.real],
      ['submit-baseline (no I/O)', submit.baseline],
    ] as const) {
      for (const r of rows) {
        console.log(
          `${name}: ${r.connections} connections: ${r.requestsPerSecond.toFixed(0)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, errors ${r.errors}, non-2xx ${r.non2xx}`,
        );
      }
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
