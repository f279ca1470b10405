import { app } from '@azure/functions';
import { loadSettings, SettingsError } from './platform/settings';
import { triggers } from './triggers';

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
      app.serviceBusQueue(trigger.name, {
        connection: trigger.connection,
        queueName: trigger.queueName,
        handler: (message, context) => trigger.handler(message, context),
      });
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
