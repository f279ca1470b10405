import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { exportJWK, generateKeyPair, SignJWT } = require('jose') as typeof Jose;

/**
 * A local stand-in for Microsoft Entra ID, which cannot run here: the tenant's signing keys (JWKS) for the API, and
 * for the browser test just enough OpenID Connect for MSAL.js — discovery, an /authorize that signs the configured
 * user in at once, and a /token that checks the PKCE verifier. Tokens are real RS256 JWTs of Entra's v2.0 shape.
 */

export const TENANT_ID = '0b7c3e2a-6f1d-4c9e-9a55-3d2f1e0c4b8a';
export const API_CLIENT_ID = '5e1f4c2b-8a3d-4b6e-9c7f-1a2b3c4d5e6f';
export const UI_CLIENT_ID = '7a9b8c6d-2e4f-4a1b-8c3d-5e6f7a8b9c0d';
export const API_SCOPE = `api://${API_CLIENT_ID}/access_as_user`;

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

export interface SigningKey {
  kid: string;
  pair: KeyPair;
}

/** Who /authorize signs in, and the claims of their tokens. */
export interface MockUser {
  oid: string;
  name: string;
  roles?: string[];
}

export interface MockEntra {
  /** The authority host (scheme, host and port): ENTRA_AUTHORITY_HOST. */
  url: string;
  issuer: string;
  /** The key the JWKS publishes and tokens are signed with. */
  key: SigningKey;
  /** Settings for AUTH_MODE=entra against this stand-in (test values, not secrets). */
  settings: Record<string, string>;
  /** A signed access token for the API; `claims` override or (undefined) remove the defaults. */
  accessToken(claims?: Record<string, unknown>, options?: SignOptions): Promise<string>;
  /** Who /authorize signs in next. */
  user: MockUser;
  /** How many times the JWKS was fetched. */
  keySetFetches: number;
  /** While true, the JWKS endpoint answers 503. */
  keySetDown: boolean;
  close(): Promise<void>;
}

export interface SignOptions {
  key?: SigningKey;
  /** The header's `kid`; the signing key's by default. */
  kid?: string;
  /** Lifetime from now, seconds (negative: expired). */
  expiresIn?: number;
  /** `nbf` from now, seconds. */
  notBefore?: number;
}

export async function newSigningKey(): Promise<SigningKey> {
  return { kid: randomUUID(), pair: await generateKeyPair('RS256', { extractable: true }) };
}

export async function publicJwks(...keys: SigningKey[]): Promise<{ keys: object[] }> {
  return {
    keys: await Promise.all(
      keys.map(async (k) => ({
        ...(await exportJWK(k.pair.publicKey)),
        kid: k.kid,
        use: 'sig',
        alg: 'RS256',
      })),
    ),
  };
}

/** A JWT signed with `key`, its header naming `kid`, with exactly `claims` (undefined values removed). */
export async function signJwt(
  claims: Record<string, unknown>,
  key: SigningKey,
  kid = key.kid,
): Promise<string> {
  const payload = Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(key.pair.privateKey);
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce?: string;
  scope: string;
  user: MockUser;
}

/**
 * Starts the stand-in on 127.0.0.1. With `tls` it serves HTTPS (MSAL.js accepts only https authorities); the API side
 * alone can use plain HTTP, which the settings accept for a loopback authority only.
 */
export async function startMockEntra(tls?: { key: string; cert: string }): Promise<MockEntra> {
  const key = await newSigningKey();
  const jwks = await publicJwks(key);
  const codes = new Map<string, PendingCode>();
  const refreshTokens = new Map<string, Omit<PendingCode, 'challenge' | 'redirectUri'>>();
  const server: Server = tls
    ? createHttpsServer(tls, (req, res) => void route(req, res))
    : createHttpServer((req, res) => void route(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tenantPath = `/${TENANT_ID}`;
  const issuer = `${url}${tenantPath}/v2.0`;
  const now = () => Math.floor(Date.now() / 1000);
  const accessTokenFor = (user: MockUser, claims: Record<string, unknown>, options: SignOptions) => {
    const t = now();
    const signer = options.key ?? key;
    return signJwt(
      {
        iss: issuer,
        aud: `api://${API_CLIENT_ID}`,
        tid: TENANT_ID,
        oid: user.oid,
        sub: randomUUID(),
        name: user.name,
        roles: user.roles,
        scp: 'access_as_user',
        ver: '2.0',
        iat: t,
        nbf: t + (options.notBefore ?? 0),
        exp: t + (options.expiresIn ?? 3600),
        ...claims,
      },
      signer,
      options.kid ?? signer.kid,
    );
  };

  const mock: MockEntra = {
    url,
    issuer,
    key,
    settings: {
      AUTH_MODE: 'entra',
      ENTRA_TENANT_ID: TENANT_ID,
      ENTRA_CLIENT_ID: API_CLIENT_ID,
      ENTRA_UI_CLIENT_ID: UI_CLIENT_ID,
      ENTRA_AUTHORITY_HOST: url,
      STREAM_TOKEN_SECRET: 'test-stream-token-key',
    },
    user: { oid: randomUUID(), name: 'Test User' },
    keySetFetches: 0,
    keySetDown: false,
    accessToken: (claims = {}, options = {}) => accessTokenFor(mock.user, claims, options),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const tokenResponse = async (grant: Omit<PendingCode, 'challenge' | 'redirectUri'>) => {
    const refreshToken = randomBytes(24).toString('base64url');
    refreshTokens.set(refreshToken, grant);
    const t = now();
    const idToken = await signJwt(
      {
        iss: issuer,
        aud: grant.clientId,
        tid: TENANT_ID,
        oid: grant.user.oid,
        sub: grant.user.oid,
        name: grant.user.name,
        preferred_username: `${grant.user.oid.slice(0, 8)}@example.test`,
        nonce: grant.nonce,
        ver: '2.0',
        iat: t,
        nbf: t,
        exp: t + 3600,
      },
      key,
    );
    const accessToken = await accessTokenFor(grant.user, {}, {});
    return {
      token_type: 'Bearer',
      scope: grant.scope,
      expires_in: 3600,
      ext_expires_in: 3600,
      access_token: accessToken,
      id_token: idToken,
      refresh_token: refreshToken,
      client_info: Buffer.from(JSON.stringify({ uid: grant.user.oid, utid: TENANT_ID })).toString(
        'base64url',
      ),
    };
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // MSAL.js calls discovery and /token from the app's origin.
    res.setHeader('access-control-allow-origin', '*');
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'GET, POST');
      res.setHeader('access-control-allow-headers', req.headers['access-control-request-headers'] ?? '*');
      res.writeHead(204).end();
      return;
    }
    const requestUrl = new URL(req.url ?? '/', url);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    switch (requestUrl.pathname) {
      case `${tenantPath}/discovery/v2.0/keys`:
        mock.keySetFetches++;
        return mock.keySetDown ? send(503, { error: 'temporarily_unavailable' }) : send(200, jwks);
      case `${tenantPath}/v2.0/.well-known/openid-configuration`:
        return send(200, {
          issuer,
          authorization_endpoint: `${url}${tenantPath}/oauth2/v2.0/authorize`,
          token_endpoint: `${url}${tenantPath}/oauth2/v2.0/token`,
          end_session_endpoint: `${url}${tenantPath}/oauth2/v2.0/logout`,
          jwks_uri: `${url}${tenantPath}/discovery/v2.0/keys`,
          response_modes_supported: ['query', 'fragment', 'form_post'],
          response_types_supported: ['code'],
          code_challenge_methods_supported: ['S256'],
        });
      case `${tenantPath}/oauth2/v2.0/authorize`: {
        const q = requestUrl.searchParams;
        const redirectUri = q.get('redirect_uri') ?? '';
        if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !redirectUri) {
          return send(400, { error: 'invalid_request' });
        }
        const code = randomBytes(24).toString('base64url');
        codes.set(code, {
          clientId: q.get('client_id') ?? '',
          redirectUri,
          challenge: q.get('code_challenge') ?? '',
          nonce: q.get('nonce') ?? undefined,
          scope: q.get('scope') ?? '',
          user: mock.user,
        });
        const reply = new URLSearchParams({
          code,
          state: q.get('state') ?? '',
          client_info: Buffer.from(JSON.stringify({ uid: mock.user.oid, utid: TENANT_ID })).toString(
            'base64url',
          ),
        });
        const separator = q.get('response_mode') === 'query' ? '?' : '#';
        res.writeHead(302, { location: `${redirectUri}${separator}${reply}` }).end();
        return;
      }
      case `${tenantPath}/oauth2/v2.0/logout`: {
        const back = requestUrl.searchParams.get('post_logout_redirect_uri');
        res.writeHead(back ? 302 : 200, back ? { location: back } : {}).end();
        return;
      }
      case `${tenantPath}/oauth2/v2.0/token`: {
        const form = new URLSearchParams(await readBody(req));
        if (form.get('grant_type') === 'refresh_token') {
          const grant = refreshTokens.get(form.get('refresh_token') ?? '');
          return grant ? send(200, await tokenResponse(grant)) : send(400, { error: 'invalid_grant' });
        }
        const pending = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const challenge = createHash('sha256').update(verifier).digest('base64url');
        if (
          !pending ||
          pending.challenge !== challenge ||
          pending.clientId !== form.get('client_id') ||
          pending.redirectUri !== form.get('redirect_uri')
        ) {
          return send(400, {
            error: 'invalid_grant',
            error_description: 'code, PKCE verifier or client mismatch',
          });
        }
        return send(200, await tokenResponse(pending));
      }
      default:
        return send(404, { error: 'not_found' });
    }
  }

  return mock;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
