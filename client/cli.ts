#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { LonghaulClient, LonghaulError, type Task } from './longhaul-client';

const USAGE = `usage: longhaul <command> [options]
  submit <type> --input '<json>' [--idempotency-key <key>] [--callback-url <url>] [--watch]
  watch <id>         follow a task's progress until it ends
  get <id>           print a task
  ls [--status <s>] [--type <t>] [--limit <n>]
  cancel <id>
  result <id>
options: --url <base url> (default $LONGHAUL_URL or http://localhost:7071)`;

const BAR_WIDTH = 30;

/** One line of progress, redrawn in place on a terminal. */
function progressLine(task: Pick<Task, 'status' | 'progress'>): string {
  const percent = Math.max(0, Math.min(100, task.progress?.percent ?? 0));
  const filled = Math.round((percent / 100) * BAR_WIDTH);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
  return `[${bar}] ${String(percent).padStart(3)}% ${task.status} ${task.progress?.message ?? ''}`.trimEnd();
}

async function watch(client: LonghaulClient, id: string): Promise<number> {
  const out = process.stdout;
  let current: Pick<Task, 'status' | 'progress'> = { status: 'queued', progress: null };
  const draw = () => (out.isTTY ? out.write(`\r\x1b[2K${progressLine(current)}`) : undefined);
  for await (const item of client.watch(id)) {
    if (item.kind === 'snapshot') current = item.task;
    else if (item.kind === 'event') {
      const e = item.event;
      if (e.type === 'progress') current = { ...current, progress: e as unknown as Task['progress'] };
      if (e.type === 'status') current = { ...current, status: e.status as Task['status'] };
      if (e.type === 'log')
        out.write(`${out.isTTY ? '\r\x1b[2K' : ''}${String(e.level)}: ${String(e.message)}\n`);
    } else {
      current = { ...current, status: item.status };
      out.write(`${out.isTTY ? '\r\x1b[2K' : ''}${progressLine(current)}\n`);
      return item.status === 'succeeded' ? 0 : 1;
    }
    draw();
  }
  return 1;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string', default: process.env.LONGHAUL_URL ?? 'http://localhost:7071' },
      input: { type: 'string', default: '{}' },
      'idempotency-key': { type: 'string' },
      'callback-url': { type: 'string' },
      watch: { type: 'boolean', default: false },
      status: { type: 'string' },
      type: { type: 'string' },
      limit: { type: 'string' },
    },
  });
  const client = new LonghaulClient({ baseUrl: values.url });
  const [command, arg] = positionals;
  const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));
  switch (command) {
    case 'submit': {
      if (!arg) throw new Error('submit: which task type?');
      let input: unknown;
      try {
        input = JSON.parse(values.input);
      } catch {
        throw new Error('--input: not valid JSON');
      }
      const task = await client.submit(arg, input, {
        idempotencyKey: values['idempotency-key'],
        callbackUrl: values['callback-url'],
      });
      console.log(task.id);
      return values.watch ? watch(client, task.id) : 0;
    }
    case 'watch':
      if (!arg) throw new Error('watch: which task id?');
      return watch(client, arg);
    case 'get':
      print(await client.get(arg ?? ''));
      return 0;
    case 'ls': {
      const page = await client.list({
        status: values.status as Task['status'] | undefined,
        type: values.type,
        limit: values.limit === undefined ? undefined : Number(values.limit),
      });
      for (const t of page.items)
        console.log(`${t.id}  ${t.type.padEnd(10)} ${t.status.padEnd(9)} ${t.createdAt}`);
      return 0;
    }
    case 'cancel':
      print(await client.cancel(arg ?? ''));
      return 0;
    case 'result':
      print(await client.result(arg ?? ''));
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof LonghaulError) {
      const fields = err.problem.errors?.map((e) => `\n  ${e.path}: ${e.message}`).join('') ?? '';
      console.error(`longhaul: ${err.message}${fields}`);
    } else console.error(`longhaul: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
