import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, sep } from 'node:path';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { BlobServiceClient } from '@azure/storage-blob';
import type { Settings, StorageSettings } from '../../../platform/settings';
import { publicHandler } from '../handle';
import { json, problem } from '../responses';

/** The only kinds of file the UI serves; anything else under functions/ui stays private. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface Asset {
  path: string;
  contentType: string;
}

let assets: Map<string, Asset> | undefined;

/**
 * The files of `functions/ui`, by their name below it. They are served from where they are written (found by
 * walking up from the compiled handler in dist/), so there is no copy step and `func start` and deployments work
 * from the app folder as is. A request can only name a file of this table: no path is ever joined from a URL.
 */
function assetTable(): Map<string, Asset> {
  if (assets) return assets;
  let root = __dirname;
  while (!existsSync(join(root, 'functions', 'ui', 'index.html'))) {
    if (dirname(root) === root) throw new Error(`functions/ui/index.html not found above ${__dirname}`);
    root = dirname(root);
  }
  const uiRoot = join(root, 'functions', 'ui');
  const table = new Map<string, Asset>();
  for (const name of readdirSync(uiRoot, { recursive: true, encoding: 'utf8' })) {
    const contentType = CONTENT_TYPES[extname(name)];
    const path = join(uiRoot, name);
    if (contentType && statSync(path).isFile()) table.set(name.split(sep).join('/'), { path, contentType });
  }
  // MSAL.js for AUTH_MODE=entra, from the installed package: same origin, so `script-src 'self'` holds.
  table.set('vendor/msal-browser.min.js', {
    path: join(dirname(require.resolve('@azure/msal-browser')), 'msal-browser.min.js'),
    contentType: CONTENT_TYPES['.js'],
  });
  assets = table;
  return table;
}

let blobOrigin: { storage: StorageSettings; origin: string } | undefined;

/** Where the browser PUTs uploads (the SAS URLs of POST /api/uploads point there), for `connect-src`. */
function blobOriginOf(storage: StorageSettings): string {
  if (blobOrigin?.storage !== storage) {
    const url =
      storage.kind === 'identity'
        ? storage.blobServiceUri
        : BlobServiceClient.fromConnectionString(storage.connectionString).url;
    blobOrigin = { storage, origin: new URL(url).origin };
  }
  return blobOrigin.origin;
}

/**
 * The page's own policy, stricter than a default for pages: no inline script or style anywhere in the UI, so none is
 * allowed. publicHandler adds the headers every response carries and keeps this policy.
 */
function contentSecurityPolicy(settings: Settings): Record<string, string> {
  const blob = blobOriginOf(settings.storage);
  // With Entra ID, MSAL.js reads the authority's metadata and redeems codes from the page.
  const authority = settings.entra ? ` ${settings.entra.authorityHost}` : '';
  return {
    'content-security-policy': [
      "default-src 'self'",
      `connect-src 'self' ${blob}${authority}`,
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
  };
}

function matchesEtag(ifNoneMatch: string | null, etag: string): boolean {
  return (ifNoneMatch ?? '').split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/** The file, revalidated on every load (`no-cache` + ETag), so a deployment never leaves stale scripts behind. */
async function serve(
  request: HttpRequest,
  settings: Settings,
  name: string | undefined,
): Promise<HttpResponseInit> {
  const asset = name === undefined ? undefined : assetTable().get(name);
  if (!asset) return problem(404, 'not-found', `No such file: /ui/${name ?? ''}`);
  const body = await readFile(asset.path);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  const headers = {
    'content-type': asset.contentType,
    'cache-control': 'no-cache',
    etag,
    ...contentSecurityPolicy(settings),
  };
  if (matchesEtag(request.headers.get('if-none-match'), etag)) return { status: 304, headers };
  return { status: 200, headers, body };
}

/** GET / (served by the catch-all route): the web UI's page. Public, like any static file: it holds no data. */
export const getUiPage = publicHandler(({ request, services }) =>
  serve(request, services.settings, 'index.html'),
);

/**
 * How the page signs in: the mode and, with Entra ID, the public values MSAL.js needs (no secret: the SPA is a public
 * client). Read by the page before its first API call.
 */
function signInConfig(settings: Settings): Record<string, unknown> {
  const { entra } = settings;
  if (!entra) return { authMode: settings.authMode };
  return {
    authMode: settings.authMode,
    entra: {
      authorityHost: entra.authorityHost,
      tenantId: entra.tenantId,
      clientId: entra.uiClientId,
      scope: entra.apiScope,
    },
  };
}

/** GET /ui/{*path}: the UI's scripts, styles and images, and `config.json` (how to sign in). */
export const getUiAsset = publicHandler(async ({ request, services }) =>
  request.params.path === 'config.json'
    ? json(200, signInConfig(services.settings), { 'cache-control': 'no-cache' })
    : serve(request, services.settings, request.params.path),
);
