/**
 * Server-Sent Events with a way out: EventSource reconnects by itself (with Last-Event-ID); when it keeps failing,
 * or the server refuses the stream, the page polls the JSON API instead and tries the stream again later, backing
 * off. The header shows how the page is connected; "polling" also when the server's stream reads the database
 * instead of live events (Redis down or not used), which it says in a notice.
 */

/** Errors in a row (without the stream opening in between) before polling takes over. */
const MAX_FAILURES = 3;
const POLL_MS = 2_000;
const RETRY_FIRST_MS = 5_000;
const RETRY_MAX_MS = 60_000;

/** Worst first: what the header shows when several streams are open. */
const STATES = ['polling', 'reconnecting', 'connecting', 'live'];

const open = new Map();
const listeners = new Set();

function notify() {
  const states = [...open.values()];
  const overall = STATES.find((s) => states.includes(s)) ?? 'connecting';
  for (const listener of listeners) listener(overall);
}

/** Calls `listener(state)` now and whenever the page's connection state changes. */
export function onConnectionState(listener) {
  listeners.add(listener);
  notify();
}

export class LiveStream {
  /**
   * `url()`: the stream's URL (or a promise of it) at each (re)open, so a fresh stream token each time; `on`: a handler per event type, given the parsed data;
   * `poll()`: reads the JSON API while the stream is down.
   */
  constructor({ url, on, poll }) {
    this.url = url;
    this.on = on;
    this.poll = poll;
    this.failures = 0;
    this.retryMs = RETRY_FIRST_MS;
    this.polling = false;
    this.pollTimer = undefined;
    this.retryTimer = undefined;
    this.source = undefined;
  }

  start() {
    this.set('connecting');
    this.connect();
  }

  close() {
    this.source?.close();
    this.source = undefined;
    clearTimeout(this.pollTimer);
    clearTimeout(this.retryTimer);
    this.pollTimer = this.retryTimer = undefined;
    open.delete(this);
    notify();
  }

  set(state) {
    open.set(this, state);
    notify();
  }

  async connect() {
    let url;
    try {
      url = await this.url();
    } catch {
      // No stream token (the API is down, or the key was revoked): poll, and try again later.
      if (open.has(this)) this.fallBack();
      return;
    }
    if (!open.has(this)) return; // closed while the URL was being made
    const source = new EventSource(url);
    this.source = source;
    for (const [type, handle] of Object.entries(this.on)) {
      source.addEventListener(type, (event) => {
        const data = JSON.parse(event.data);
        // The server's notice of how it delivers (it has no seq): the header shows it; it is no task's log line.
        const delivery = type === 'log' && data.seq === undefined ? data.data?.delivery : undefined;
        if (delivery) this.set(delivery === 'polling' ? 'polling' : 'live');
        else handle(data);
      });
    }
    source.addEventListener('open', () => {
      this.failures = 0;
      this.retryMs = RETRY_FIRST_MS;
      this.set('live');
    });
    source.addEventListener('error', () => {
      if (this.source !== source) return;
      // CLOSED: the server answered with something other than a stream; EventSource gives up on its own.
      if (source.readyState === EventSource.CLOSED || ++this.failures >= MAX_FAILURES) this.fallBack();
      else this.set('reconnecting');
    });
  }

  fallBack() {
    this.source?.close();
    this.source = undefined;
    this.set('polling');
    if (!this.polling) this.pollLoop();
    this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  /** Polls until the stream opens again or the stream is closed. */
  async pollLoop() {
    this.polling = true;
    try {
      await this.poll();
    } catch {
      // the next round tries again; the header already says "polling"
    }
    // While the stream is open the server polls for it (its notice set the state): the page need not.
    if (open.get(this) === 'polling' && !this.source)
      this.pollTimer = setTimeout(() => this.pollLoop(), POLL_MS);
    else this.polling = false;
  }
}
