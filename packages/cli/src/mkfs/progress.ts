/**
 * Progress display: an ora spinner on stderr showing files and bytes done.
 * Only when asked to (interactive terminal, not --quiet); otherwise every
 * method is a no-op, so pipes, logs and tests see no escape codes.
 */
import type { Ora } from 'ora';
import type { ProgressFn } from './writer-types.js';

/** Handle returned by {@link startProgress}. */
export interface Progress {
  /** Names the current phase ("scanning ...", "writing ..."). */
  phase(text: string): void;
  /** The writer's progress callback; throttled to a few redraws a second. */
  update: ProgressFn;
  /** Removes the spinner (call in a finally). */
  stop(): void;
}

/**
 * Starts a spinner when `enabled`; see {@link Progress}. ora (and what it
 * loads) is imported only then: a quiet or piped run does not pay for it.
 */
export async function startProgress(opts: { enabled: boolean; stream: NodeJS.WritableStream }): Promise<Progress> {
  // A terminal that reports 0 columns (a pty nobody sized, e.g. under
  // `script`) makes ora's line counting divide by zero and redraw forever.
  const columns = (opts.stream as { columns?: number }).columns ?? 0;
  if (!opts.enabled || !(columns > 0)) return { phase() {}, update() {}, stop() {} };
  // discardStdin: false -- ora otherwise puts stdin in raw mode, which would swallow Ctrl-C
  const { default: ora } = await import('ora');
  const spinner: Ora = ora({ stream: opts.stream, discardStdin: false, isEnabled: true }).start();
  let phase = '';
  let last = 0;
  return {
    phase(text) {
      phase = text;
      spinner.text = text;
    },
    update(p) {
      const now = Date.now();
      if (now - last < 100 && p.filesDone < p.filesTotal) return;
      last = now;
      const pct = p.bytesTotal > 0 ? Math.floor((100 * p.bytesDone) / p.bytesTotal) : 100;
      spinner.text = `${phase}: ${p.filesDone}/${p.filesTotal} files, ${mib(p.bytesDone)}/${mib(p.bytesTotal)} MiB (${pct}%)`;
    },
    stop() {
      spinner.stop();
    },
  };
}

function mib(n: number): string {
  return (n / 1048576).toFixed(1);
}
