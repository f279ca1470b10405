import type { InvocationContext, Timer } from '@azure/functions';
import { sweep } from '../../engine/sweeper';
import { appServices } from '../app-services';

/** Timer trigger, every minute: the engine's sweeper re-drives what fell through. */
export async function sweepTasks(_timer: Timer, _context: InvocationContext): Promise<void> {
  await sweep(appServices().engine);
}
