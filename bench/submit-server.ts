import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appServices } from '../functions/app-services';
import { SubmitTaskSchema } from '../functions/http/api-schemas';
import { handler } from '../functions/http/handle';
import { readJsonBody } from '../functions/http/json-body';
import { json, problem } from '../functions/http/responses';
import { runMigrations } from '../functions/storage/migrate';
import type { TriggerDefinition } from '../functions/trigger-types';
import { triggers } from '../functions/triggers';
import { startLocalHost } from '../local-dev/host';
import { dropDatabase, ensureDatabase } from '../local-dev/services/postgres';
import { startLocalStack } from '../local-dev/stack';

const POSTGRES_SERVER = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The submit handler's parsing and validation without any I/O: the ceiling the framework allows. */
const submitWithoutIo = handler(async ({ request, services }) => {
  const body = await readJsonBody(request, services.settings.maxPayloadBytes);
  if (!body.ok) return body.response;
  const parsed = SubmitTaskSchema.safeParse(body.value);
  const definition = parsed.success ? services.catalog.get(parsed.data.type) : undefined;
  if (!parsed.success || !definition?.input.safeParse(parsed.data.input).success) {
    return problem(422, 'invalid-task', 'invalid');
  }
  const now = new Date().toISOString();
  return json(
    202,
    { id: randomBytes(16).toString('hex'), status: 'queued', createdAt: now },
    { location: '/x' },
  );
});

/**
 * A process serving the submit route for `bench/submit.ts`: `real` runs the app's own HTTP triggers against the
 * local stack (no worker, so only submits load the machine); `baseline` runs the same parsing with no I/O.
 */
async function main(): Promise<void> {
  const mode = process.argv[2] === 'baseline' ? 'baseline' : 'real';
  const database = `longhaul_bench_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(POSTGRES_SERVER, database);
  const databaseUrl = POSTGRES_SERVER.replace(/\/[^/]*$/, `/${database}`);
  const stack = await startLocalStack({
    stateDir: await mkdtemp(join(tmpdir(), 'longhaul-bench-')),
    inMemory: true,
    databaseUrl,
    redisUrl: REDIS_URL,
    servicebusPort: 0,
  });
  await runMigrations(databaseUrl);
  Object.assign(process.env, stack.settings);
  await appServices().blobs.ensureContainers();
  const table: TriggerDefinition[] =
    mode === 'real'
      ? triggers.filter((t) => t.kind === 'http')
      : [{ kind: 'http', name: 'submitTask', route: 'tasks', methods: ['POST'], handler: submitWithoutIo }];
  const host = await startLocalHost({
    triggers: table,
    port: 0,
    settings: stack.settings,
    log: () => undefined,
  });
  console.log(host.url);
  process.once('SIGTERM', () => {
    void host
      .close()
      .then(() => stack.stop())
      .then(() => dropDatabase(POSTGRES_SERVER, database))
      .finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
