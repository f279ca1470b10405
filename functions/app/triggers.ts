import { purgeExpiredTasks } from './timers/purge-expired-tasks';
import { deleteDeadLetter, listDeadLetters } from './http/handlers/admin-dead-letters';
import { getAdminStats } from './http/handlers/admin-stats';
import { cancelTask } from './http/handlers/cancel-task';
import { streamCallerEvents } from './http/handlers/caller-events';
import { createFallback } from './http/handlers/fallback';
import { getApiDocs, getOpenApi } from './http/handlers/api-docs';
import { getHealth, getReadiness } from './http/handlers/health';
import { bulkCancel, bulkRetry } from './http/handlers/bulk-actions';
import { countTasks, getTask, listTasks } from './http/handlers/read-tasks';
import { rerunTask } from './http/handlers/rerun-task';
import { adminRetryTask, retryTask } from './http/handlers/retry-task';
import { getTaskInput } from './http/handlers/task-input';
import { getTaskSteps } from './http/handlers/task-steps';
import { signalTask } from './http/handlers/signal-task';
import { submitTask } from './http/handlers/submit-task';
import { listTaskEvents } from './http/handlers/task-events';
import { createStreamToken } from './http/handlers/stream-tokens';
import { getTaskResult } from './http/handlers/task-result';
import { listTaskTypes } from './http/handlers/task-types';
import { getUiAsset, getUiPage } from './http/handlers/ui';
import type { HttpTrigger, TriggerDefinition } from './trigger-types';
import { createUpload } from './http/handlers/create-upload';
import { processTaskMessage } from './servicebus/process-task-message';
import { sweepTasks } from './timers/sweep-tasks';
import { traced } from './traced-triggers';

const httpTriggers: HttpTrigger[] = [
  { kind: 'http', name: 'submitTask', route: 'api/tasks', methods: ['POST'], handler: submitTask },
  { kind: 'http', name: 'createUpload', route: 'api/uploads', methods: ['POST'], handler: createUpload },
  { kind: 'http', name: 'listTasks', route: 'api/tasks', methods: ['GET'], handler: listTasks },
  { kind: 'http', name: 'getTask', route: 'api/tasks/{id}', methods: ['GET'], handler: getTask },
  { kind: 'http', name: 'cancelTask', route: 'api/tasks/{id}', methods: ['DELETE'], handler: cancelTask },
  { kind: 'http', name: 'countTasks', route: 'api/tasks/counts', methods: ['GET'], handler: countTasks },
  {
    kind: 'http',
    name: 'bulkCancelTasks',
    route: 'api/tasks/bulk/cancel',
    methods: ['POST'],
    handler: bulkCancel,
  },
  {
    kind: 'http',
    name: 'bulkRetryTasks',
    route: 'api/tasks/bulk/retry',
    methods: ['POST'],
    handler: bulkRetry,
  },
  {
    kind: 'http',
    name: 'getTaskInput',
    route: 'api/tasks/{id}/input',
    methods: ['GET'],
    handler: getTaskInput,
  },
  {
    kind: 'http',
    name: 'getTaskSteps',
    route: 'api/tasks/{id}/steps',
    methods: ['GET'],
    handler: getTaskSteps,
  },
  { kind: 'http', name: 'retryTask', route: 'api/tasks/{id}/retry', methods: ['POST'], handler: retryTask },
  { kind: 'http', name: 'rerunTask', route: 'api/tasks/{id}/rerun', methods: ['POST'], handler: rerunTask },
  {
    kind: 'http',
    name: 'signalTask',
    route: 'api/tasks/{id}/signals/{name}',
    methods: ['POST'],
    handler: signalTask,
  },
  {
    kind: 'http',
    name: 'getTaskResult',
    route: 'api/tasks/{id}/result',
    methods: ['GET'],
    handler: getTaskResult,
  },
  {
    kind: 'http',
    name: 'listTaskEvents',
    route: 'api/tasks/{id}/events',
    methods: ['GET'],
    handler: listTaskEvents,
  },
  {
    kind: 'http',
    name: 'streamCallerEvents',
    route: 'api/events',
    methods: ['GET'],
    handler: streamCallerEvents,
  },
  {
    kind: 'http',
    name: 'createStreamToken',
    route: 'api/stream-tokens',
    methods: ['POST'],
    handler: createStreamToken,
  },
  { kind: 'http', name: 'listTaskTypes', route: 'api/task-types', methods: ['GET'], handler: listTaskTypes },
  { kind: 'http', name: 'getAdminStats', route: 'api/admin/stats', methods: ['GET'], handler: getAdminStats },
  {
    kind: 'http',
    name: 'listDeadLetters',
    route: 'api/admin/dead-letters',
    methods: ['GET'],
    handler: listDeadLetters,
  },
  {
    kind: 'http',
    name: 'deleteDeadLetter',
    route: 'api/admin/dead-letters/{sequenceNumber}',
    methods: ['DELETE'],
    handler: deleteDeadLetter,
  },
  {
    kind: 'http',
    name: 'adminRetryTask',
    route: 'api/admin/tasks/{id}/retry',
    methods: ['POST'],
    handler: adminRetryTask,
  },
  { kind: 'http', name: 'getOpenApi', route: 'api/openapi.json', methods: ['GET'], handler: getOpenApi },
  { kind: 'http', name: 'getApiDocs', route: 'api/docs/{file?}', methods: ['GET'], handler: getApiDocs },
  { kind: 'http', name: 'getHealth', route: 'api/health', methods: ['GET'], handler: getHealth },
  { kind: 'http', name: 'getReadiness', route: 'api/health/ready', methods: ['GET'], handler: getReadiness },
  { kind: 'http', name: 'getUiAsset', route: 'ui/{*path}', methods: ['GET', 'HEAD'], handler: getUiAsset },
];

/**
 * Every trigger of the app, in one table: `functions/index.ts` registers it with the Functions host and
 * `local-dev/host` serves it locally, so both run the same handlers on the same routes. host.json sets an empty route
 * prefix, so that the web UI can have `/`: the API's routes carry `api/` themselves. Every trigger is traced (one span
 * per invocation, see `traced`).
 */
const table: TriggerDefinition[] = [
  ...httpTriggers,
  {
    kind: 'http',
    name: 'fallback',
    route: '{*path}',
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
    // Functions cannot register an empty route, so the catch-all serves the site root.
    handler: createFallback(httpTriggers, [{ route: '', methods: ['GET', 'HEAD'], handler: getUiPage }]),
  },
  {
    kind: 'serviceBus',
    name: 'processTaskMessage',
    connection: 'ServiceBusConnection',
    queueName: '%TASKS_QUEUE%',
    // The engine settles messages itself, so it can dead-letter with a reason.
    sdkBinding: true,
    handler: processTaskMessage,
  },
  { kind: 'timer', name: 'sweepTasks', schedule: '0 */1 * * * *', handler: sweepTasks },
  // Hourly, at minute 17: off the hour, when other jobs tend to start.
  { kind: 'timer', name: 'purgeExpiredTasks', schedule: '0 17 * * * *', handler: purgeExpiredTasks },
];

export const triggers: TriggerDefinition[] = table.map(traced);
