import type { LonghaulClient, Task, TaskFilter, TaskStatus } from '../longhaul-client';
import { finalLine, listRow, progressLine, stepsTable } from './output';

/** Exit codes by outcome (docs/cli.md). */
export const EXIT = {
  ok: 0,
  taskFailed: 1,
  usage: 2,
  taskCancelled: 3,
  refused: 4,
  unreachable: 5,
} as const;

/** A bad command line: the message, then the command's usage, and exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: Command,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** What the value is, in the usage line (`<json>`). */
  value?: string;
  help: string;
}

export interface Invocation {
  client: LonghaulClient;
  /** The first positional argument (a task id or type), checked present when the command takes one. */
  arg: string;
  /** Every positional argument, as many as the command's `arg` names. */
  args: string[];
  values: Record<string, string | boolean | undefined>;
  out: NodeJS.WriteStream;
}

export interface Command {
  name: string;
  /** Its positional arguments, e.g. `<id>` or `<id> <name>`; none when absent. */
  arg?: string;
  summary: string;
  options: Record<string, OptionSpec>;
  run(invocation: Invocation): Promise<number>;
}

const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));
const text = (values: Invocation['values'], name: string) => values[name] as string | undefined;

const watchOption: Record<string, OptionSpec> = {
  watch: { type: 'boolean', help: 'follow the task with a progress bar until it ends' },
};
const idempotencyOption: Record<string, OptionSpec> = {
  'idempotency-key': {
    type: 'string',
    value: '<key>',
    help: 'a repeat with the same key returns the same task',
  },
};
const filterOptions: Record<string, OptionSpec> = {
  type: { type: 'string', value: '<type>', help: 'only tasks of this type' },
  'id-prefix': { type: 'string', value: '<hex>', help: 'only tasks whose id starts so' },
  'created-after': { type: 'string', value: '<time>', help: 'only tasks created at or after (ISO 8601)' },
  'created-before': { type: 'string', value: '<time>', help: 'only tasks created before (ISO 8601)' },
};

/** A JSON option's value ({} when absent); not JSON is a usage error. */
function jsonOption(invocation: Invocation, name: string, command: Command): unknown {
  try {
    return JSON.parse(text(invocation.values, name) ?? '{}');
  } catch {
    throw new UsageError(`--${name}: not valid JSON`, command);
  }
}

function filterOf(values: Invocation['values']): TaskFilter {
  return {
    status: text(values, 'status') as TaskStatus | undefined,
    type: text(values, 'type'),
    idPrefix: text(values, 'id-prefix'),
    createdAfter: text(values, 'created-after'),
    createdBefore: text(values, 'created-before'),
  };
}

/** Follows a task to its end, a progress bar redrawn in place on a terminal, then the final line; exits by outcome. */
export async function watch(client: LonghaulClient, id: string, out: NodeJS.WriteStream): Promise<number> {
  let current: Pick<Task, 'status' | 'progress'> = { status: 'queued', progress: null };
  const clear = out.isTTY ? '\r\x1b[2K' : '';
  const draw = () => (out.isTTY ? out.write(`${clear}${progressLine(current)}`) : undefined);
  for await (const item of client.watch(id)) {
    if (item.kind === 'snapshot') current = item.task;
    else if (item.kind === 'event') {
      const e = item.event;
      if (e.type === 'progress') current = { ...current, progress: e as unknown as Task['progress'] };
      if (e.type === 'status') current = { ...current, status: e.status as Task['status'] };
      if (e.type === 'log') out.write(`${clear}${String(e.level)}: ${String(e.message)}\n`);
    } else {
      out.write(`${clear}${progressLine({ ...current, status: item.status })}\n`);
      const task = await client.get(id);
      out.write(`${finalLine(task)}\n`);
      if (task.status === 'succeeded') return EXIT.ok;
      return task.status === 'cancelled' ? EXIT.taskCancelled : EXIT.taskFailed;
    }
    draw();
  }
  return EXIT.taskFailed;
}

/** Prints the task's id, then follows it when asked. */
async function started(invocation: Invocation, task: Task): Promise<number> {
  console.log(task.id);
  return invocation.values.watch ? watch(invocation.client, task.id, invocation.out) : EXIT.ok;
}

export const COMMANDS: Command[] = [
  {
    name: 'submit',
    arg: '<type>',
    summary: 'submit a task and print its id',
    options: {
      input: { type: 'string', value: '<json>', help: 'the task input (default {})' },
      ...idempotencyOption,
      'callback-url': { type: 'string', value: '<url>', help: 'POSTed the task, signed, when it ends' },
      ...watchOption,
    },
    async run(invocation) {
      const input = jsonOption(invocation, 'input', this);
      const task = await invocation.client.submit(invocation.arg, input, {
        idempotencyKey: text(invocation.values, 'idempotency-key'),
        callbackUrl: text(invocation.values, 'callback-url'),
      });
      return started(invocation, task);
    },
  },
  {
    name: 'watch',
    arg: '<id>',
    summary: "follow a task's progress until it ends",
    options: {},
    run: ({ client, arg, out }) => watch(client, arg, out),
  },
  {
    name: 'get',
    arg: '<id>',
    summary: 'print a task',
    options: {},
    async run({ client, arg }) {
      print(await client.get(arg));
      return EXIT.ok;
    },
  },
  {
    name: 'ls',
    summary: 'list tasks, newest first, with duration and failure reason',
    options: {
      status: {
        type: 'string',
        value: '<status>',
        help: 'queued, running, waiting, succeeded, failed or cancelled',
      },
      ...filterOptions,
      limit: { type: 'string', value: '<n>', help: 'at most this many (1..100, default 20)' },
    },
    async run({ client, values }) {
      const limit = text(values, 'limit');
      const page = await client.list({
        ...filterOf(values),
        limit: limit === undefined ? undefined : Number(limit),
      });
      for (const task of page.items) console.log(listRow(task));
      return EXIT.ok;
    },
  },
  {
    name: 'counts',
    summary: 'how many tasks are in each status',
    options: filterOptions,
    async run({ client, values }) {
      const { status: _status, ...filter } = filterOf(values);
      const counts = await client.counts(filter);
      for (const [status, n] of Object.entries(counts.byStatus)) console.log(`${status.padEnd(9)} ${n}`);
      console.log(`${'total'.padEnd(9)} ${counts.total}`);
      return EXIT.ok;
    },
  },
  {
    name: 'cancel',
    arg: '<id>',
    summary: 'cancel a task (a running one stops at its next step)',
    options: {},
    async run({ client, arg }) {
      print(await client.cancel(arg));
      return EXIT.ok;
    },
  },
  {
    name: 'result',
    arg: '<id>',
    summary: "print a succeeded task's result",
    options: {},
    async run({ client, arg }) {
      print(await client.result(arg));
      return EXIT.ok;
    },
  },
  {
    name: 'input',
    arg: '<id>',
    summary: 'print the input a task was accepted with',
    options: {},
    async run({ client, arg }) {
      print(await client.input(arg));
      return EXIT.ok;
    },
  },
  {
    name: 'steps',
    arg: '<id>',
    summary: "a task's steps: status, attempts, slice, duration, stored size",
    options: {},
    async run({ client, arg }) {
      const steps = await client.steps(arg);
      console.log(steps.length ? stepsTable(steps) : 'no steps recorded');
      return EXIT.ok;
    },
  },
  {
    name: 'retry',
    arg: '<id>',
    summary: 'retry a failed task from the step that failed',
    options: watchOption,
    async run(invocation) {
      return started(invocation, await invocation.client.retry(invocation.arg));
    },
  },
  {
    name: 'signal',
    arg: '<id> <name>',
    summary: 'send a task the signal <name> (an approval, a callback); print what was kept',
    options: {
      data: { type: 'string', value: '<json>', help: 'the payload (default {})' },
      'idempotency-key': {
        type: 'string',
        value: '<key>',
        help: 'a repeat with the same key is answered, not refused',
      },
    },
    async run(invocation) {
      const payload = jsonOption(invocation, 'data', this);
      const [id, name] = invocation.args;
      print(
        await invocation.client.signal(id, name, payload, {
          idempotencyKey: text(invocation.values, 'idempotency-key'),
        }),
      );
      return EXIT.ok;
    },
  },
  {
    name: 'rerun',
    arg: '<id>',
    summary: 'submit a new task with the same type and input; print its id',
    options: { ...idempotencyOption, ...watchOption },
    async run(invocation) {
      const task = await invocation.client.rerun(invocation.arg, {
        idempotencyKey: text(invocation.values, 'idempotency-key'),
      });
      return started(invocation, task);
    },
  },
];
