/** Runs named checks with deadlines and collects one row per check for the report. */

export type Verdict = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  verdict: Verdict;
  durationMs: number;
  detail: string;
}

/** Thrown by a check that cannot run here (e.g. it needs an admin key): reported as skipped, not failed. */
export class SkipCheck extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SkipCheck';
  }
}

export interface CheckContext {
  /** Fires when the check's deadline passes: pass it to every request and stream. */
  signal: AbortSignal;
  /** What the check is doing now; a timeout reports it, so "timed out" says where. */
  note(doing: string): void;
}

export interface CheckOutcome<T> {
  name: string;
  verdict: Verdict;
  value?: T;
}

export class CheckRunner {
  private readonly rows = new Map<string, CheckResult>();
  private readonly order: string[] = [];

  constructor(
    private readonly options: {
      /** Whether a check is selected at all (`--only` / `--skip`); unselected checks leave no row. */
      selected: (name: string) => boolean;
      timeoutMs: number;
      onResult?: (result: CheckResult) => void;
    },
  ) {}

  /** Reserves a row so the table keeps this order whatever order the checks finish in. */
  declare(...names: string[]): void {
    for (const name of names) if (!this.order.includes(name)) this.order.push(name);
  }

  selected(name: string): boolean {
    return this.options.selected(name);
  }

  /**
   * Runs `check` unless unselected, or skipped because a check it needs did not pass (`needs`) or a reason is given
   * (`skip`). The check returns its detail line and, for checks that depend on it, a value.
   */
  async run<T = undefined>(
    name: string,
    check: (ctx: CheckContext) => Promise<{ detail: string; value?: T }>,
    options: { needs?: Array<CheckOutcome<unknown>>; skip?: string; timeoutMs?: number } = {},
  ): Promise<CheckOutcome<T>> {
    this.declare(name);
    if (!this.options.selected(name)) return { name, verdict: 'skip' };
    const unmet = options.needs?.find((n) => n.verdict !== 'pass');
    const skip = options.skip ?? (unmet ? `${unmet.name} did not pass` : undefined);
    if (skip !== undefined) return this.record({ name, verdict: 'skip', durationMs: 0, detail: skip });

    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const deadline = new AbortController();
    let doing = 'starting';
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`no result within ${formatSeconds(timeoutMs)}: ${doing}`);
        deadline.abort(error);
        reject(error);
      }, timeoutMs);
    });
    try {
      const { detail, value } = await Promise.race([
        check({ signal: deadline.signal, note: (text) => (doing = text) }),
        timedOut,
      ]);
      this.record({ name, verdict: 'pass', durationMs: performance.now() - started, detail });
      return { name, verdict: 'pass', value };
    } catch (err) {
      const skipped = err instanceof SkipCheck;
      // Once the deadline fired, the check's own error is only the abort it caused: report the deadline's.
      const reason = deadline.signal.aborted ? (deadline.signal.reason as Error) : err;
      this.record({
        name,
        verdict: skipped ? 'skip' : 'fail',
        durationMs: performance.now() - started,
        detail: oneLine(reason instanceof Error ? reason.message : String(reason)),
      });
      return { name, verdict: skipped ? 'skip' : 'fail' };
    } finally {
      clearTimeout(timer);
      deadline.abort(new Error('the check is over'));
    }
  }

  /** The rows in declared order. */
  results(): CheckResult[] {
    return this.order.flatMap((name) => {
      const row = this.rows.get(name);
      return row ? [row] : [];
    });
  }

  private record(result: CheckResult): CheckOutcome<never> {
    this.rows.set(result.name, result);
    this.options.onResult?.(result);
    return { name: result.name, verdict: result.verdict };
  }
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
