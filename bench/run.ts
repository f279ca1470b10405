import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { benchDataset } from './dataset';
import { benchCostModel } from './cost-model';
import { benchEngine } from './engine';
import { benchFanout } from './fanout';
import { benchProgress } from './progress';
import { benchScrape } from './scrape';
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
  if (wanted('dataset')) {
    const d = await benchDataset();
    save('dataset', d);
    const runs = (seconds: number[]) => seconds.map((s) => s.toFixed(1)).join(' s, ');
    console.log(
      `dataset: ${d.megabytes} MB CSV (${d.rows} rows): engine ${d.engineMBps.toFixed(1)} MB/s (${runs(d.engineSeconds)} s; ` +
        `${d.engineSlices} slice(s), a checkpoint every ${d.checkpointMiB} MiB) vs bare single pass ` +
        `${d.bareMBps.toFixed(1)} MB/s (${runs(d.bareSeconds)} s): ratio ${d.ratio.toFixed(2)}`,
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
  if (wanted('fanout')) {
    const fanout = await benchFanout();
    save('fanout', fanout);
    for (const l of fanout.levels) {
      for (const [name, r] of [
        ['longhaul', l.longhaul],
        ['bare', l.bare],
      ] as const) {
        const latency = r.latency
          .map((x) => `at ${x.rate}/s p50 ${x.p50Ms.toFixed(1)} ms p99 ${x.p99Ms.toFixed(1)} ms`)
          .join(', ');
        console.log(
          `fanout: ${name}: ${r.streams} streams: ${r.framesPerSecond.toFixed(0)} events/s delivered ` +
            `(${r.serverCpuUsPerFrame.toFixed(1)} µs server CPU each); latency ${latency}; ` +
            `RSS ${r.serverRssOpenMb.toFixed(0)} MB (${r.serverRssPerStreamKb.toFixed(1)} KB/stream); ` +
            `load average ${r.loadAverage[0].toFixed(1)} -> ${r.loadAverage[1].toFixed(1)}`,
        );
      }
      console.log(`fanout: ${l.streams} streams: Longhaul / bare events/s = ${l.ratio.toFixed(2)}`);
    }
  }
  if (wanted('scrape')) {
    const scrape = await benchScrape();
    save('scrape', scrape);
    console.log(
      `scrape: ${scrape.pages} pages through the engine in ${(scrape.engine.ms / 1000).toFixed(1)} s: ` +
        `${scrape.engine.pagesPerSecond.toFixed(0)} pages/s; the same fetch+parse in a bare loop ` +
        `${scrape.bare.pagesPerSecond.toFixed(0)} pages/s (${scrape.overheadPerPageMs.toFixed(1)} ms engine overhead per page)`,
    );
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
  if (wanted('cost-model')) {
    const cost = await benchCostModel();
    save('cost-model', cost);
    for (const [unit, counts] of Object.entries(cost.perTask)) {
      const ops = (o: Record<string, number>) =>
        Object.entries(o)
          .map(([k, v]) => `${k} ${Number(v.toFixed(2))}`)
          .join(', ');
      console.log(
        `cost-model: ${unit}: Service Bus {${ops(counts.serviceBus)}}; Blob {${ops(counts.blob)}}; ` +
          `Table {${ops(counts.table)}}; Postgres writes ${counts.postgresWrites.toFixed(1)}; ` +
          `Redis publishes ${counts.redisPublishes.toFixed(1)}`,
      );
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
