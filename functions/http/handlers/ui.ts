import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, sep } from 'node:path';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { BlobServiceClient } from '@azure/storage-blob';
import { appServices } from '../../app-services';
import type { StorageSettings } from '../../platform/settings';
import { problem } from '../responses';

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

/** A strict policy: no inline script or style anywhere in the UI, so none is allowed. */
function securityHeaders(): Record<string, string> {
  const blob = blobOriginOf(appServices().settings.storage);
  return {
    'content-security-policy': [
      "default-src 'self'",
      `connect-src 'self' ${blob}`,
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  };
}

function matchesEtag(ifNoneMatch: string | null, etag: string): boolean {
  return (ifNoneMatch ?? '').split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/** The file, revalidated on every load (`no-cache` + ETag), so a deployment never leaves stale scripts behind. */
async function serve(request: HttpRequest, name: string | undefined): Promise<HttpResponseInit> {
  const asset = name === undefined ? undefined : assetTable().get(name);
  if (!asset) return problem(404, 'not-found', `No such file: /ui/${name ?? ''}`);
  const body = await readFile(asset.path);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  const headers = {
    'content-type': asset.contentType,
    'cache-control': 'no-cache',
    etag,
    ...securityHeaders(),
  };
  if (matchesEtag(request.headers.get('if-none-match'), etag)) return { status: 304, headers };
  return { status: 200, headers, body };
}

/** GET / (served by the catch-all route): the web UI's page. Public, like any static file: it holds no data. */
export const getUiPage = (request: HttpRequest): Promise<HttpResponseInit> => serve(request, 'index.html');

/** GET /ui/{*path}: the UI's scripts, styles and images. */
export const getUiAsset = (request: HttpRequest): Promise<HttpResponseInit> =>
  serve(request, request.params.path);
