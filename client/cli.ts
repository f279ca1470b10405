#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { COMMANDS, EXIT, UsageError, type Command, type OptionSpec } from './cli/commands';
import { LonghaulClient, LonghaulConnectionError, LonghaulError } from './longhaul-client';

const DEFAULT_URL = 'http://localhost:7071';

/** Options every command takes. */
const GLOBAL: Record<string, OptionSpec> = {
  url: {
    type: 'string',
    value: '<url>',
    help: `the API's base URL (default $LONGHAUL_URL or ${DEFAULT_URL})`,
  },
  key: {
    type: 'string',
    value: '<key>',
    help: 'an API key or Entra token, sent as a Bearer (default $LONGHAUL_KEY)',
  },
  help: { type: 'boolean', help: 'show this help' },
};

const EXIT_CODES = `exit codes: 0 done (a watched task succeeded) · 1 the task failed, or an unexpected error ·
  2 bad command line · 3 the task was cancelled · 4 the API refused the request · 5 the API could not be reached`;

function optionLines(options: Record<string, OptionSpec>): string[] {
  return Object.entries(options).map(
    ([name, o]) => `  --${`${name} ${o.value ?? ''}`.trimEnd().padEnd(24)} ${o.help}`,
  );
}

function usage(): string {
  const commands = COMMANDS.map((c) => `  ${`${c.name} ${c.arg ?? ''}`.padEnd(16)} ${c.summary}`);
  return [
    'usage: longhaul <command> [options]    (longhaul <command> --help for its options)',
    'commands:',
    ...commands,
    'options of every command:',
    ...optionLines(GLOBAL),
    EXIT_CODES,
  ].join('\n');
}

function commandUsage(command: Command): string {
  const options = optionLines({ ...command.options, ...GLOBAL });
  return [
    `usage: longhaul ${command.name} ${command.arg ?? ''}`.trimEnd() + ' [options]',
    command.summary,
    'options:',
    ...options,
  ].join('\n');
}

function parseOptions(options: Record<string, OptionSpec>) {
  return Object.fromEntries(
    Object.entries(options).map(([name, o]) => [
      name,
      { type: o.type, ...(name === 'help' ? { short: 'h' } : {}) },
    ]),
  );
}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  // The command is the first word; options are read strictly once it is known.
  const first = parseArgs({
    args: argv,
    options: parseOptions(GLOBAL),
    strict: false,
    allowPositionals: true,
  });
  const name = first.positionals[0];
  if (name === undefined || name === 'help') {
    const topic = COMMANDS.find((c) => c.name === first.positionals[1]);
    if (name === undefined && !first.values.help) throw new UsageError('which command?');
    console.log(topic ? commandUsage(topic) : usage());
    return EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"`);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: parseOptions({ ...command.options, ...GLOBAL }),
      allowPositionals: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0], command);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(commandUsage(command));
    return EXIT.ok;
  }
  const wanted = command.arg ? command.arg.split(' ') : [];
  const args = positionals.slice(1);
  if (args.length < wanted.length) throw new UsageError(`missing ${wanted[args.length]}`, command);
  if (args.length > wanted.length)
    throw new UsageError(`unexpected argument "${args[wanted.length]}"`, command);
  const key = (values.key as string | undefined) ?? (env.LONGHAUL_KEY || undefined);
  const client = new LonghaulClient({
    baseUrl: (values.url as string | undefined) ?? (env.LONGHAUL_URL || DEFAULT_URL),
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  return command.run({ client, arg: args[0] ?? '', args, values, out: process.stdout });
}

/** What went wrong, in words a user can act on, and the exit code for it. */
function failure(err: unknown, argv: string[], env: NodeJS.ProcessEnv): { message: string; code: number } {
  if (err instanceof UsageError) {
    return {
      message: `${err.message}\n${err.command ? commandUsage(err.command) : usage()}`,
      code: EXIT.usage,
    };
  }
  if (err instanceof LonghaulError) {
    const fields = err.problem.errors?.map((e) => `\n  ${e.path}: ${e.message}`).join('') ?? '';
    const hint =
      err.problem.status === 401
        ? '\n  Pass an API key with --key or LONGHAUL_KEY (npm run keys -- create).'
        : '';
    return { message: `${err.message}${fields}${hint}`, code: EXIT.refused };
  }
  if (err instanceof LonghaulConnectionError) {
    const url = urlOf(argv) ?? (env.LONGHAUL_URL || DEFAULT_URL);
    return {
      message:
        `${err.message}\n  Is the Longhaul API running at ${url}? Start it with \`npm start\`, ` +
        'or point --url (or LONGHAUL_URL) at it.',
      code: EXIT.unreachable,
    };
  }
  return { message: err instanceof Error ? err.message : String(err), code: EXIT.taskFailed };
}

function urlOf(argv: string[]): string | undefined {
  const at = argv.indexOf('--url');
  return at >= 0 ? argv[at + 1] : argv.find((a) => a.startsWith('--url='))?.slice('--url='.length);
}

const argv = process.argv.slice(2);
main(argv, process.env).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const { message, code } = failure(err, argv, process.env);
    console.error(`longhaul: ${message}`);
    process.exit(code);
  },
);
