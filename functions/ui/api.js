/** The Longhaul HTTP API (docs/api.md), from the page's own origin. */

/** A problem+json answer (RFC 9457): `errors` lists each failing field as `{path, message}`. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `The server answered ${status}.`);
    this.status = status;
    this.problem = problem ?? {};
  }

  /** Every field the problem names: the schema's list, else its one `field`. */
  get fieldErrors() {
    if (Array.isArray(this.problem.errors)) return this.problem.errors;
    return this.problem.field ? [{ path: this.problem.field, message: this.message }] : [];
  }
}

const KEY_ITEM = 'longhaul.apiKey';

/** The API key the page sends (AUTH_MODE=apikey), kept for this tab only: sessionStorage, gone when it closes. */
export const apiKey = {
  get: () => sessionStorage.getItem(KEY_ITEM),
  set: (key) => sessionStorage.setItem(KEY_ITEM, key),
  clear: () => sessionStorage.removeItem(KEY_ITEM),
};

/** AUTH_MODE=entra: a function that resolves to a fresh access token (MSAL.js); see `useAccessTokens`. */
let accessToken;

/** Sends `Authorization: Bearer <token>` from now on, each token from `source()` (MSAL.js acquires it silently). */
export function useAccessTokens(source) {
  accessToken = source;
}

/** Whether the page sends a credential: then plain links and EventSource, which cannot send one, need a way around. */
export const hasCredential = () => Boolean(accessToken || apiKey.get());

async function send(method, path, body, accept) {
  const init = { method, headers: { accept } };
  const credential = accessToken ? await accessToken() : apiKey.get();
  if (credential) init.headers.authorization = `Bearer ${credential}`;
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return fetch(path, init);
}

async function request(method, path, body) {
  const response = await send(method, path, body, 'application/json');
  const text = await response.text();
  let data;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined; // a proxy's HTML error page, say: the status tells enough
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const taskPath = (id) => `/api/tasks/${encodeURIComponent(id)}`;

export const resultUrl = (id) => `${taskPath(id)}/result`;
export const taskEventsUrl = (id) => `${taskPath(id)}/events`;

/**
 * An SSE URL that EventSource can open. EventSource cannot send an Authorization header, so with a credential the URL
 * carries a five-minute stream token made for it (`taskId`: the task's stream; without it, the caller's).
 */
export async function streamUrl(path, taskId) {
  if (!hasCredential()) return path;
  const { token } = await request('POST', '/api/stream-tokens', taskId ? { taskId } : {});
  return `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}

/** How the page signs in (GET /ui/config.json): `{authMode, entra?: {authorityHost, tenantId, clientId, scope}}`. */
export async function signInConfig() {
  const response = await fetch('/ui/config.json', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new ApiError(response.status);
  return response.json();
}

export const api = {
  taskTypes: () => request('GET', '/api/task-types'),
  submit: (body) => request('POST', '/api/tasks', body),
  /** `query`: status, type, limit, cursor; empty values are left out. */
  list: (query) =>
    request('GET', `/api/tasks?${new URLSearchParams(Object.entries(query).filter(([, v]) => v))}`),
  task: (id) => request('GET', taskPath(id)),
  cancel: (id) => request('DELETE', taskPath(id)),
  /** One page of the persisted history, oldest first, after `seq`. */
  events: (id, after) => request('GET', `${taskEventsUrl(id)}?after=${after}&limit=1000`),
  result: (id) => request('GET', resultUrl(id)),
  /** The result as a file, for downloading it with the credential (a plain link cannot send one). */
  resultFile: async (id) => {
    const response = await send('GET', resultUrl(id), undefined, 'application/json');
    if (!response.ok) throw new ApiError(response.status);
    return response.blob();
  },
  createUpload: (body) => request('POST', '/api/uploads', body),
  input: (id) => request('GET', `${taskPath(id)}/input`),
  steps: (id) => request('GET', `${taskPath(id)}/steps`),
  retry: (id) => request('POST', `${taskPath(id)}/retry`),
  rerun: (id) => request('POST', `${taskPath(id)}/rerun`),
  signal: (id, name, payload) =>
    request('POST', `${taskPath(id)}/signals/${encodeURIComponent(name)}`, payload),
  /** `query`: type, idPrefix, createdAfter, createdBefore; empty values are left out. */
  counts: (query) =>
    request('GET', `/api/tasks/counts?${new URLSearchParams(Object.entries(query).filter(([, v]) => v))}`),
  adminStats: () => request('GET', '/api/admin/stats'),
  deadLetters: () => request('GET', '/api/admin/dead-letters?limit=100'),
  removeDeadLetter: (sequenceNumber) =>
    request('DELETE', `/api/admin/dead-letters/${encodeURIComponent(sequenceNumber)}`),
};
