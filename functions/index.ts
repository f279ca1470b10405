// First: the telemetry set-up must run before the modules it instruments (http, pg, the Azure SDKs) are loaded.
import { startTelemetry } from './platform/telemetry';
startTelemetry(process.env);
import { app } from '@azure/functions';
import { onAppTerminate } from './app/app-terminate';
import { redactContextLogs } from './app/redact-context-logs';
import { serviceBusRegistration } from './app/servicebus-binding';
import { loadSettings, SettingsError } from './platform/settings';
import { triggers } from './app/triggers';

// A missing or malformed setting stops start-up with one line naming it.
try {
  loadSettings(process.env);
} catch (err) {
  if (err instanceof SettingsError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

app.setup({ enableHttpStream: true });
app.hook.appTerminate(() => onAppTerminate());
// What handlers and the worker write through context.log reaches the host directly: redact it on the way.
app.hook.preInvocation(({ invocationContext }) => redactContextLogs(invocationContext));

for (const trigger of triggers) {
  switch (trigger.kind) {
    case 'http':
      app.http(trigger.name, {
        route: trigger.route,
        methods: trigger.methods,
        authLevel: 'anonymous',
        handler: trigger.handler,
      });
      break;
    case 'serviceBus':
      app.serviceBusQueue(trigger.name, serviceBusRegistration(trigger));
      break;
    case 'timer':
      app.timer(trigger.name, {
        schedule: trigger.schedule,
        runOnStartup: trigger.runOnStartup ?? false,
        handler: trigger.handler,
      });
      break;
  }
}
