import type { HttpRequest } from '@azure/functions';
import type { Settings } from '../platform/settings';

export interface Caller {
  id: string;
  admin: boolean;
}

/** Who is calling. With AUTH_MODE=none every request is the caller `local`. */
export function callerOf(_request: HttpRequest, settings: Settings): Caller | undefined {
  if (settings.authMode === 'none') return { id: 'local', admin: true };
  // API keys and Entra ID tokens are the security issue's work; until then those modes admit nobody.
  return undefined;
}
