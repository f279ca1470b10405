import { randomBytes } from 'node:crypto';
import { appServices } from '../functions/app/app-services';
import { SubmitTaskSchema } from '../functions/contract/api-schemas';
import { handler } from '../functions/app/http/handle';
import { json, problem } from '../functions/app/http/responses';
import type { TriggerDefinition } from '../functions/app/trigger-types';
import { triggers } from '../functions/app/triggers';
import { startLocalHost } from '../local-dev/host';
import { startBenchStack } from './bench-stack';

/** The submit handler's parsing and validation without any I/O: the ceiling the framework allows. */
const submitWithoutIo = handler(async ({ readJson, services }) => {
  const body = await readJson(services.settings.maxPayloadBytes);
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
  const stack = await startBenchStack();
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
      .finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
