import { z } from 'zod';
import { handler } from '../handle';
import { json } from '../responses';
import type { TaskType } from '../../../contract/api-schemas';

/** GET /api/task-types: every type with its input's JSON Schema and an example. */
export const listTaskTypes = handler(async ({ services }) =>
  json<TaskType[]>(
    200,
    services.catalog.all().map((d) => ({
      type: d.type,
      title: d.title,
      description: d.description,
      inputSchema: z.toJSONSchema(d.input, { io: 'input', unrepresentable: 'any' }),
      example: d.example,
      signals: Object.fromEntries(
        Object.entries(d.signals ?? {}).map(([name, schema]) => [
          name,
          z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
        ]),
      ),
      maxDurationSeconds: d.maxDurationSeconds ?? null,
    })),
  ),
);
