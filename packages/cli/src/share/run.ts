/**
 * erofs-share's main: parse, read the workload, run the report, print it.
 * Resolves with the exit status (1 when any byte differs with sharing);
 * throws for errors (runMain prints them as one line).
 */
import { readFileSync } from 'node:fs';
import { ErofsError } from '@erofs/format';
import { parseShareArgs, parseWorkload, usageText } from './args.js';
import { formatReport } from './format.js';
import { runShareReport } from './report.js';

export interface ShareIo {
  stdout: NodeJS.WritableStream;
}

function versionText(): string {
  let version = '0.0.0';
  try {
    // src/share/run.ts and dist/share/run.js both sit two levels below the package
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    version = pkg.version ?? version;
  } catch {
    // bundled without package.json
  }
  return `erofs-share (erofs-ts) ${version}\n`;
}

function readWorkload(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ErofsError(err.code === 'ENOENT' ? 'ENOENT' : 'EIO', `cannot read workload file: ${err.message}`);
  }
  return parseWorkload(text);
}

export async function shareMain(argv: readonly string[], io: Partial<ShareIo> = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const args = parseShareArgs(argv);
  if (args.command === 'help') {
    stdout.write(usageText());
    return 0;
  }
  if (args.command === 'version') {
    stdout.write(versionText());
    return 0;
  }
  const opts: Parameters<typeof runShareReport>[1] = { domainId: args.domainId, share: args.share };
  if (args.workload !== undefined) opts.workload = readWorkload(args.workload);
  if (args.cacheBytes !== undefined) opts.cacheBytes = args.cacheBytes;
  const report = await runShareReport(args.images, opts);
  stdout.write(args.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  return report.mismatches.length === 0 ? 0 : 1;
}
