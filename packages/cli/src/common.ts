import { isErofsError } from '@erofs/format';

/**
 * Runs a command's main function and turns every failure into one line on
 * stderr and a non-zero exit: `NAME: message` for our own errors (bad input,
 * corrupt images), and the same plus a hint for unexpected ones. Stack traces
 * only with EROFS_DEBUG=1.
 */
export async function runMain(name: string, main: (argv: string[]) => Promise<number | void>): Promise<void> {
  try {
    const code = await main(process.argv.slice(2));
    process.exitCode = typeof code === 'number' ? code : 0;
  } catch (e) {
    if (process.env.EROFS_DEBUG === '1') console.error(e);
    process.stderr.write(`${name}: ${errorLine(e)}\n`);
    process.exitCode = exitCodeFor(e);
  }
}

/** One-line description of any thrown value. */
export function errorLine(e: unknown): string {
  if (isErofsError(e)) return `${e.message} (${e.code})`;
  if (e instanceof UsageError) return e.message;
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err === 'object' && typeof err.code === 'string' && typeof err.message === 'string') {
    return err.message.replace(/\s+/g, ' ');
  }
  return String((e as Error)?.message ?? e).replace(/\s+/g, ' ');
}

/** Exit codes: 1 for bad input or a failed check, 2 for usage errors. */
export function exitCodeFor(e: unknown): number {
  return e instanceof UsageError ? 2 : 1;
}

/** A command-line usage mistake (unknown option, bad value): exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
