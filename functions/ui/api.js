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

async function request(method, path, body) {
  const init = { method, headers: { accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
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
  createUpload: (body) => request('POST', '/api/uploads', body),
};
