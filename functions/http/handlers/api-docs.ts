import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { publicHandler } from '../handle';
import { openApiDocument } from '../openapi-document';
import { json, problem, text } from '../responses';

let document: ReturnType<typeof openApiDocument> | undefined;

/** GET /api/openapi.json */
export const getOpenApi = publicHandler(async ({ services }) => {
  document ??= openApiDocument(services.catalog);
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

/** GET /api/docs and its assets: Swagger UI from the swagger-ui-dist package. */
export const getApiDocs = publicHandler(async ({ request }) => {
  const file = request.params.file;
  if (!file) return text(200, 'text/html; charset=utf-8', PAGE);
  if (file === 'init.js') return text(200, 'text/javascript; charset=utf-8', INIT);
  const contentType = SWAGGER_ASSETS[file];
  if (!contentType) return problem(404, 'not-found', `No such file: ${file}`);
  const body = await readFile(join(dirname(require.resolve('swagger-ui-dist/package.json')), file), 'utf8');
  return text(200, contentType, body, 'public, max-age=86400');
});
