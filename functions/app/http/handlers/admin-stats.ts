import { adminHandler } from '../admin-access';
import { json } from '../responses';
import type { AdminStats } from '../../../contract/api-schemas';

/** GET /api/admin/stats: task counts, queue depth and dead letters, the oldest queued task and stalled tasks. */
export const getAdminStats = adminHandler(async ({ services }) =>
  json<AdminStats>(200, await services.admin.stats()),
);
