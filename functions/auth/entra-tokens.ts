import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import type { EntraSettings } from '../platform/settings';
import type { KeyHolder } from './api-keys';
import { describeError } from '../platform/describe-error';

// jose is an ES module; Node 20.19+ loads it with require(), which TypeScript's node16 mode cannot express as an import.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createRemoteJWKSet, errors, jwtVerify } = require('jose') as typeof Jose;

/** The app role (of the API's app registration) that makes a caller an admin. */
export const ADMIN_ROLE = 'Longhaul.Admin';

/** Tolerated difference between Entra ID's clock and this host's, for `exp` and `nbf`. */
const CLOCK_TOLERANCE_SECONDS = 60;

interface EntraClaims extends Jose.JWTPayload {
  oid?: unknown;
  roles?: unknown;
  scp?: unknown;
}

/**
 * Microsoft Entra ID access tokens (v2.0) for the API's app registration: RS256 signatures checked against the
 * tenant's published keys, issuer, audience, expiry and not-before. jose caches the key set and fetches it again
 * (at most every 30 s) when a token names a key it does not know, which is how Entra ID's key rollover arrives.
 */
export class EntraTokens {
  private readonly keys: ReturnType<typeof createRemoteJWKSet>;
  private readonly issuer: string;
  private readonly keysUrl: URL;
  /** The delegated scope's name as it appears in `scp` (`access_as_user`, without the `api://…/` prefix). */
  private readonly scopeName: string;

  constructor(
    private readonly settings: EntraSettings,
    private readonly warn: (message: string) => void,
  ) {
    const tenant = `${settings.authorityHost}/${settings.tenantId}`;
    this.issuer = `${tenant}/v2.0`;
    this.keysUrl = new URL(`${tenant}/discovery/v2.0/keys`);
    this.keys = createRemoteJWKSet(this.keysUrl, { timeoutDuration: 5_000 });
    this.scopeName = settings.apiScope.split('/').pop() ?? settings.apiScope;
  }

  /**
   * The caller of a genuine token meant for this API; undefined for anything else, whatever was wrong with it. A
   * delegated token must carry the API's scope, an app-only token an app role; `oid` names the caller either way.
   */
  async verify(token: string): Promise<KeyHolder | undefined> {
    let claims: EntraClaims;
    try {
      ({ payload: claims } = await jwtVerify<EntraClaims>(token, this.keys, {
        algorithms: ['RS256'],
        issuer: this.issuer,
        audience: this.settings.audiences,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      if (isKeySetFailure(err)) {
        this.warn(`entra: no signing keys from ${this.keysUrl.href}: ${describeError(err).split('\n')[0]}`);
      }
      return undefined;
    }
    const roles = Array.isArray(claims.roles) ? claims.roles.filter((r) => typeof r === 'string') : [];
    const scopes = typeof claims.scp === 'string' ? claims.scp.split(' ') : [];
    if (typeof claims.oid !== 'string' || claims.oid === '') return undefined;
    if (!scopes.includes(this.scopeName) && roles.length === 0) return undefined;
    return { owner: claims.oid, role: roles.includes(ADMIN_ROLE) ? 'admin' : 'user' };
  }
}

/** Entra ID (or the way to it) failed, as opposed to the token: worth an operator's attention. */
function isKeySetFailure(err: unknown): boolean {
  if (!(err instanceof errors.JOSEError)) return true; // fetch itself: DNS, TLS, connection refused
  return (
    err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || err.code === 'ERR_JOSE_GENERIC'
  );
}
