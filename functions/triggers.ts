import { cancelTask } from './http/handlers/cancel-task';
import { streamCallerEvents } from './http/handlers/caller-events';
import { createFallback } from './http/handlers/fallback';
import { getApiDocs, getOpenApi } from './http/handlers/api-docs';
import { getHealth, getReadiness } from './http/handlers/health';
import { getTask, listTasks } from './http/handlers/read-tasks';
import { submitTask } from './http/handlers/submit-task';
import { listTaskEvents } from './http/handlers/task-events';
import { getTaskResult } from './http/handlers/task-result';
import { listTaskTypes } from './http/handlers/task-types';
import type { HttpTrigger, TriggerDefinition } from './trigger-types';
import { createUpload } from './http/handlers/create-upload';
import { processTaskMessage } from './worker/task-message';
import { sweepTasks } from './worker/sweeper';

const httpTriggers: HttpTrigger[] = [
  { kind: 'http', name: 'submitTask', route: 'tasks', methods: ['POST'], handler: submitTask },
  { kind: 'http', name: 'createUpload', route: 'uploads', methods: ['POST'], handler: createUpload },
  { kind: 'http', name: 'listTasks', route: 'tasks', methods: ['GET'], handler: listTasks },
  { kind: 'http', name: 'getTask', route: 'tasks/{id}', methods: ['GET'], handler: getTask },
  { kind: 'http', name: 'cancelTask', route: 'tasks/{id}', methods: ['DELETE'], handler: cancelTask },
  {
    kind: 'http',
    name: 'getTaskResult',
    route: 'tasks/{id}/result',
    methods: ['GET'],
    handler: getTaskResult,
  },
  {
    kind: 'http',
    name: 'listTaskEvents',
    route: 'tasks/{id}/events',
    methods: ['GET'],
    handler: listTaskEvents,
  },
  {
    kind: 'http',
    name: 'streamCallerEvents',
    route: 'events',
    methods: ['GET'],
    handler: streamCallerEvents,
  },
  { kind: 'http', name: 'listTaskTypes', route: 'task-types', methods: ['GET'], handler: listTaskTypes },
  { kind: 'http', name: 'getOpenApi', route: 'openapi.json', methods: ['GET'], handler: getOpenApi },
  { kind: 'http', name: 'getApiDocs', route: 'docs/{file?}', methods: ['GET'], handler: getApiDocs },
  { kind: 'http', name: 'getHealth', route: 'health', methods: ['GET'], handler: getHealth },
  { kind: 'http', name: 'getReadiness', route: 'health/ready', methods: ['GET'], handler: getReadiness },
];

/**
 * Every trigger of the app, in one table: `functions/index.ts` registers it with the Functions host and
 * `local-dev/host` serves it locally, so both run the same handlers on the same routes.
 */
export const triggers: TriggerDefinition[] = [
  ...httpTriggers,
  {
    kind: 'http',
    name: 'fallback',
    route: '{*path}',
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
    handler: createFallback(httpTriggers),
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
];
