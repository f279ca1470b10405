import { flushTelemetry } from '../platform/telemetry';
import { endRunningSlices } from '../engine/shutdown';

/** Within the local host's 10 s grace for running invocations, and the Functions host's for app hooks. */
const SLICES_WAIT_MS = 8_000;

/**
 * What runs before the host stops this process (`app.hook.appTerminate` on Azure, SIGTERM in the local host): running
 * slices end early and hand their tasks on (docs/reliability.md#graceful-shutdown), then buffered telemetry is sent.
 */
export async function onAppTerminate(log: (message: string) => void = console.log): Promise<void> {
  const left = await endRunningSlices(SLICES_WAIT_MS);
  if (left > 0)
    log(`shutdown: ${left} slice(s) still running after ${SLICES_WAIT_MS} ms; their leases will expire`);
  await flushTelemetry();
}
