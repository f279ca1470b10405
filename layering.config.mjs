// The layering rules of docs/architecture.md as import-x `no-restricted-paths` zones: files under `target` may not
// import files under `from` (paths from the repository root). eslint.config.mjs applies them; test/lint/ proves each
// one fails on a wrong import.

/** Every folder of functions/ but the app: the domain, adapters and vocabulary. */
const BELOW_APP = [
  'admin',
  'auth',
  'contract',
  'engine',
  'events',
  'messaging',
  'model',
  'outbound',
  'platform',
  'storage',
  'tasks',
  'uploads',
  'webhooks',
].map((folder) => `./functions/${folder}`);

export const layering = [
  {
    target: BELOW_APP,
    from: './functions/app',
    message:
      'Only the app (trigger adapters, HTTP, composition root) may import the app; pass what is needed in.',
  },
  {
    target: BELOW_APP,
    from: './node_modules/@azure/functions',
    message: 'Only functions/app knows Azure Functions.',
  },
  {
    target: './functions/engine',
    from: './functions/tasks',
    message: 'Task types depend on the engine, never the reverse: the catalog is given to the engine.',
  },
  {
    target: ['./functions/storage', './functions/messaging'],
    from: ['./functions/engine', './functions/events', './functions/webhooks', './functions/admin'],
    message: 'Storage and messaging are adapters: the domain calls them, never the other way round.',
  },
  {
    target: './functions/platform',
    from: './functions',
    except: ['./platform'],
    message: 'Platform (settings, clients, telemetry) imports nothing of the app.',
  },
  {
    target: './functions/model',
    from: ['./functions', './node_modules'],
    except: ['./model', './zod'],
    message: 'The model is vocabulary: zod and other model files only, no I/O.',
  },
  {
    target: './functions/contract',
    from: './functions',
    except: ['./contract', './model'],
    message: 'The API contract is built from the model only.',
  },
  {
    target: './functions',
    from: ['./local-dev', './test', './bench', './chaos'],
    message: 'The app never depends on local tooling or tests.',
  },
  {
    target: './local-dev/servicebus-emulator',
    from: './functions',
    message: 'The Service Bus emulator stands in for Azure: it imports nothing of the app.',
  },
];
