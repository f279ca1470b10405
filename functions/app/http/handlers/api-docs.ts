import { readFile } from 'node:fs/promises';
import type { HttpResponseInit } from '@azure/functions';
import { dirname, join } from 'node:path';
import { publicHandler } from '../handle';
import { openApiDocument } from '../../../contract/openapi-document';
import { json, problem, text } from '../responses';

let document: ReturnType<typeof openApiDocument> | undefined;

/** GET /api/openapi.json */
export const getOpenApi = publicHandler(async ({ services }) => {
  document ??= openApiDocument(services.catalog.all());
  return json(200, document, { 'cache-control': 'public, max-age=300' });
});

const SWAGGER_ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Longhaul API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/swagger-ui-standalone-preset.js"></script>
<script src="/api/docs/init.js"></script>
</body></html>`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#swagger-ui', deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout' });`;

/**
 * The page's policy: scripts from the app only (init.js is a file for that reason), the SVG icons Swagger UI inlines
 * as data: URLs, and inline styles, which Swagger UI's React components apply at run time; the page shows only the
 * OpenAPI document, so styles are the one thing let in. publicHandler adds the headers every response carries and keeps
 * this policy.
 */
const PAGE_CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** GET /api/docs and its assets: Swagger UI from the swagger-ui-dist package. */
export const getApiDocs = publicHandler(async ({ request }) => {
  const file = request.params.file;
  if (!file) return withPolicy(text(200, 'text/html; charset=utf-8', PAGE));
  if (file === 'init.js') return text(200, 'text/javascript; charset=utf-8', INIT);
  // Own keys only: `constructor` or `__proto__` would find Object.prototype's and read a file that is not there.
  const contentType = Object.hasOwn(SWAGGER_ASSETS, file) ? SWAGGER_ASSETS[file] : undefined;
  if (!contentType) return problem(404, 'not-found', `No such file: ${file}`);
  const body = await readFile(join(dirname(require.resolve('swagger-ui-dist/package.json')), file), 'utf8');
  return text(200, contentType, body, 'public, max-age=86400');
});

function withPolicy(response: HttpResponseInit): HttpResponseInit {
  return {
    ...response,
    headers: { ...(response.headers as Record<string, string>), 'content-security-policy': PAGE_CSP },
  };
}
