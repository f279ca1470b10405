import Module from 'node:module';
import { runProcess } from './run-process';

/** One function as `@azure/functions` registers it with the Functions host (its `FunctionMetadata`). */
export interface RegisteredFunction {
  name: string;
  bindings: Record<string, Record<string, unknown> & { type: string; direction: string }>;
  retryOptions?: unknown;
}

/** What the app tells the host at start: its functions, and whether it streams HTTP (the `HttpUri` capability). */
export interface AppRegistration {
  functions: RegisteredFunction[];
  httpStream: boolean;
}

const MARKER = 'functions-core-stand-in:';
/** Set in the child only, so that importing this module (to call `captureRegistration`) installs nothing. */
const INSTALL = 'LONGHAUL_FUNCTIONS_CORE_STAND_IN';

/**
 * Loads an app's entry point as the Azure Functions Node.js worker would and returns what it registers. The worker
 * (which cannot run here) hands the app the `@azure/functions-core` module; with it `@azure/functions` leaves test
 * mode and calls `registerFunction(metadata, handler)` and `setProgrammingModel`, as on Azure. This module is that
 * stand-in: run with `node -r`, it records the registrations, asks the programming model for its capabilities, prints
 * both and exits.
 */
export async function captureRegistration(main: string, env: NodeJS.ProcessEnv): Promise<AppRegistration> {
  const { code, stdout, stderr } = await runProcess(process.execPath, ['-r', __filename, main], {
    env: { ...env, [INSTALL]: '1' },
  });
  const line = stdout.split('\n').find((l) => l.startsWith(MARKER));
  if (code !== 0 || !line) throw new Error(`loading ${main} failed (exit ${code}): ${stderr || stdout}`);
  return JSON.parse(line.slice(MARKER.length)) as AppRegistration;
}

interface ProgrammingModel {
  getCapabilities(capabilities: Record<string, string>): Promise<Record<string, string>>;
}

/** Installed in the child that preloads this file. */
function installStandIn(): void {
  const functions: RegisteredFunction[] = [];
  let model: ProgrammingModel | undefined;
  const core = {
    version: '3.10.1',
    hostVersion: '4.1040.0',
    registerFunction(metadata: RegisteredFunction) {
      functions.push(metadata);
      return { dispose: () => undefined };
    },
    setProgrammingModel(programmingModel: ProgrammingModel) {
      model = programmingModel;
    },
    getProgrammingModel: () => model,
    registerHook: () => ({ dispose: () => undefined }),
    log: () => undefined,
  };
  const loader = Module as unknown as { _load(request: string, ...rest: unknown[]): unknown };
  const load = loader._load;
  loader._load = function (request: string, ...rest: unknown[]) {
    return request === '@azure/functions-core' ? core : load.call(this, request, ...rest);
  };
  // After the entry point has loaded synchronously, as the worker's init request comes after it.
  setImmediate(() => {
    void (async () => {
      const capabilities = (await model?.getCapabilities({})) ?? {};
      process.stdout.write(
        `${MARKER}${JSON.stringify({ functions, httpStream: 'HttpUri' in capabilities })}\n`,
      );
      process.exit(0);
    })();
  });
}

if (process.env[INSTALL] === '1') installStandIn();
