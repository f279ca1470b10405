import { api, apiKey, signInConfig, streamUrl, useAccessTokens } from './api.js';
import { card } from './components.js';
import { focusHeading, h } from './dom.js';
import { entraSession } from './entra.js';
import { LiveStream, onConnectionState } from './live.js';
import { newTaskForm } from './new-task.js';
import { taskList } from './task-list.js';
import { taskView } from './task-view.js';
import { adminView } from './admin-view.js';

const CONNECTION = {
  connecting: ['Connecting…', 'Opening the live event stream.'],
  live: ['Live', 'Changes arrive as they happen.'],
  reconnecting: ['Reconnecting…', 'The event stream dropped; the browser is reconnecting.'],
  polling: [
    'Polling',
    'Not live: updates arrive every few seconds (the event stream is unavailable, or the server has no live events).',
  ],
};
const TASK_ROUTE = /^#\/tasks\/([0-9a-fA-F-]{36})$/;

const main = document.getElementById('main');
const connection = document.getElementById('connection');
const connectionLabel = document.getElementById('connection-label');
let view;
/** AUTH_MODE=entra: who signed in (`{name, accessToken(), signOut()}`). */
let session;

onConnectionState((state) => {
  const [label, title] = CONNECTION[state];
  connection.className = `connection connection-${state}`;
  connection.title = title;
  connectionLabel.textContent = label;
});

function homeView(types) {
  const list = taskList(types);
  const form = newTaskForm(types, () => list.refresh());
  document.title = 'Longhaul';
  return {
    element: h(
      'div',
      { class: 'home' },
      h('h1', { class: 'visually-hidden', tabindex: -1 }, 'Longhaul tasks'),
      card('new-task-heading', 'New task', {}, form),
      list.element,
    ),
    tick: list.tick,
    onCallerEvent: list.onEvent,
    poll: list.load,
    destroy: list.destroy,
  };
}

function route(types, moveFocus) {
  // In-page anchors (the skip link) are not routes.
  if (location.hash && !location.hash.startsWith('#/')) return;
  view?.destroy();
  const match = TASK_ROUTE.exec(location.hash);
  view = match ? taskView(match[1]) : location.hash === '#/admin' ? adminView() : homeView(types);
  main.replaceChildren(view.element);
  if (moveFocus) focusHeading(main);
}

/** AUTH_MODE=apikey: the page asks for a key once per tab, then starts with it. */
function askForKey(message) {
  apiKey.clear();
  const input = h('input', {
    id: 'api-key',
    type: 'password',
    autocomplete: 'off',
    required: true,
    'aria-describedby': 'api-key-hint api-key-error',
  });
  const form = h(
    'form',
    {
      class: 'api-key-form',
      onsubmit: (event) => {
        event.preventDefault();
        apiKey.set(input.value.trim());
        main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
        start();
      },
    },
    h('h1', { tabindex: -1 }, 'Sign in'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('p', { class: 'hint', id: 'api-key-hint' }, 'Kept in this tab only, until it closes.'),
    h('p', { class: 'form-error', id: 'api-key-error', role: 'alert' }, message),
    h('button', { type: 'submit', class: 'primary' }, 'Continue'),
  );
  main.replaceChildren(form);
  input.focus();
}

function showFailure(message) {
  main.replaceChildren(
    h('p', { class: 'form-error', role: 'alert' }, message),
    h('button', { type: 'button', class: 'primary', onclick: () => location.reload() }, 'Try again'),
  );
}

/** AUTH_MODE=entra: signs in with Entra ID before the first API call; the header shows who, with a way out. */
async function signIn() {
  const config = await signInConfig();
  if (config.authMode !== 'entra') return;
  session = await entraSession(config.entra);
  useAccessTokens(session.accessToken);
  document
    .querySelector('.site-header')
    .append(
      h(
        'p',
        { class: 'account' },
        h('span', { id: 'account-name' }, session.name),
        h('button', { type: 'button', class: 'secondary', onclick: () => session.signOut() }, 'Sign out'),
      ),
    );
}

async function start() {
  let types;
  try {
    types = await api.taskTypes();
  } catch (err) {
    if (err.status === 401 && session) return showFailure('The API did not accept your sign-in.');
    if (err.status === 401) return askForKey(apiKey.get() ? 'That key was not accepted.' : '');
    return showFailure(`The API does not answer: ${err.message}`);
  }
  window.addEventListener('hashchange', () => route(types, true));
  route(types, false);
  // One stream for every task of the caller, whatever the view: the list needs it, and the header shows it.
  const events = (type) => (data) => view?.onCallerEvent?.(type, data);
  new LiveStream({
    url: () => streamUrl('/api/events'),
    on: {
      snapshot: events('snapshot'),
      status: events('status'),
      progress: events('progress'),
      log: events('log'),
    },
    poll: async () => view?.poll?.(),
  }).start();
  setInterval(() => view?.tick(Date.now()), 1_000);
}

signIn().then(start, (err) => showFailure(`The page could not start: ${err.message}`));
