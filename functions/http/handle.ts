import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { appServices, type AppServices } from '../app-services';
import { callerOf, type Caller } from './caller';
import { problem } from './responses';

export type HttpHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

export interface RequestScope {
  request: HttpRequest;
  context: InvocationContext;
  services: AppServices;
  caller: Caller;
}

/** Wraps a handler: resolves the caller, and turns any unexpected error into a 500 problem without internals. */
export function handler(fn: (scope: RequestScope) => Promise<HttpResponseInit>): HttpHandler {
  return async (request, context) => {
    try {
      const services = appServices();
      const caller = callerOf(request, services.settings);
      if (!caller) {
        return problem(
          401,
          'unauthenticated',
          `AUTH_MODE=${services.settings.authMode} admits no caller yet.`,
        );
      }
      return await fn({ request, context, services, caller });
    } catch (err) {
      context.error(
        `${request.method} ${new URL(request.url).pathname} failed: ${(err as Error).stack ?? String(err)}`,
      );
      return problem(500, 'internal', 'The server could not complete the request. It has been logged.');
    }
  };
}

/** The first failing field of a zod-checked value, as a 400 problem naming it. */
export function badRequest(field: string, message: string): HttpResponseInit {
  return problem(400, 'bad-request', `${field}: ${message}`, { field });
}
