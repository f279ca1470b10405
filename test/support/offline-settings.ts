/**
 * App settings that only have to parse: for tests of what opens no connection (static files, the docs, loading the
 * entry point). Every address is a closed port.
 */
export const OFFLINE_SETTINGS: Record<string, string> = {
  ServiceBusConnection:
    'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=true;',
  TASKS_STORAGE: 'UseDevelopmentStorage=true',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
  REDIS_URL: 'redis://127.0.0.1:1',
};
