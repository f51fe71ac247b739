/**
 * A small, pure re-implementation of the GNU getopt_long() conventions that
 * mkfs.erofs's command line relies on, so scripts written for mkfs.erofs
 * work unchanged:
 *
 * - short options may be glued to their value (`-b512`, `-T0`,
 *   `-Eforce-inode-extended`) or take the next word (`-b 512`); flag-only
 *   short options can be grouped (`-hV`);
 * - long options take `--name=value` or `--name value` when the value is
 *   required, but ONLY `--name=value` when it is optional (so
 *   `--xattr-inode-digest IMAGE SOURCE` does not swallow IMAGE);
 * - an unambiguous prefix of a long option is accepted (`--quie`); an exact
 *   match always wins over prefixes;
 * - options and operands may be mixed (GNU permutation); `--` ends options.
 *
 * Commander (declared by this package) does not follow the optional-value
 * rule above, which is why mkfs-erofs parses with this instead.
 */
import { UsageError } from '../common.js';

/** How an option takes its value. */
export type ArgKind = 'none' | 'required' | 'optional';

/** One option the command knows (supported or not). */
export interface OptionSpec {
  /** Key reported in {@link ParsedOption.key}. */
  key: string;
  /** Single-character short name (`b` for `-b`). */
  short?: string;
  /** Long name without dashes (`chunksize` for `--chunksize`). */
  long?: string;
  arg: ArgKind;
}

/** One option occurrence, in command-line order. */
export interface ParsedOption {
  key: string;
  /** The value, or undefined for flags and omitted optional values. */
  value: string | undefined;
  /** How the user spelled it (`-b`, `--chunksize`), for messages. */
  spelled: string;
}

/** Result of {@link getoptLong}: options in order and the remaining operands. */
export interface GetoptResult {
  options: ParsedOption[];
  operands: string[];
}

/**
 * Splits argv into options and operands the way getopt_long() would.
 * Unknown options, missing required values, values given to flags and
 * ambiguous abbreviations throw a {@link UsageError}.
 */
export function getoptLong(argv: readonly string[], specs: readonly OptionSpec[]): GetoptResult {
  const byShort = new Map<string, OptionSpec>();
  const longs: OptionSpec[] = [];
  for (const s of specs) {
    if (s.short) byShort.set(s.short, s);
    if (s.long) longs.push(s);
  }
  const options: ParsedOption[] = [];
  const operands: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = word.slice(2, eq < 0 ? undefined : eq);
      const inline = eq < 0 ? undefined : word.slice(eq + 1);
      const spec = findLong(name, longs);
      const spelled = `--${spec.long}`;
      if (spec.arg === 'none') {
        if (inline !== undefined) throw new UsageError(`option '${spelled}' doesn't allow an argument`);
        options.push({ key: spec.key, value: undefined, spelled });
      } else if (spec.arg === 'optional') {
        options.push({ key: spec.key, value: inline, spelled });
      } else if (inline !== undefined) {
        options.push({ key: spec.key, value: inline, spelled });
      } else {
        if (i + 1 >= argv.length) throw new UsageError(`option '${spelled}' requires an argument`);
        options.push({ key: spec.key, value: argv[++i]!, spelled });
      }
      continue;
    }
    if (word.startsWith('-') && word.length > 1) {
      // a cluster of short options: flags until one takes a value
      for (let j = 1; j < word.length; j++) {
        const c = word[j]!;
        const spec = byShort.get(c);
        if (!spec) throw new UsageError(`invalid option -- '${c}'`);
        const spelled = `-${c}`;
        if (spec.arg === 'none') {
          options.push({ key: spec.key, value: undefined, spelled });
          continue;
        }
        const rest = word.slice(j + 1);
        if (rest !== '') {
          options.push({ key: spec.key, value: rest, spelled });
        } else if (spec.arg === 'optional') {
          options.push({ key: spec.key, value: undefined, spelled });
        } else {
          if (i + 1 >= argv.length) throw new UsageError(`option requires an argument -- '${c}'`);
          options.push({ key: spec.key, value: argv[++i]!, spelled });
        }
        break;
      }
      continue;
    }
    operands.push(word); // "-" alone is an operand, as in getopt
  }
  return { options, operands };
}

/** Exact long name, else the unique option whose name starts with `name`. */
function findLong(name: string, longs: readonly OptionSpec[]): OptionSpec {
  const exact = longs.find((s) => s.long === name);
  if (exact) return exact;
  const hits = name === '' ? [] : longs.filter((s) => s.long!.startsWith(name));
  // several spellings of one option (aliases sharing a key) are not ambiguous
  const keys = new Set(hits.map((s) => s.key));
  if (hits.length === 0 || keys.size === 0) throw new UsageError(`unrecognized option '--${name}'`);
  if (keys.size > 1) {
    const list = hits.map((s) => `'--${s.long}'`).join(' ');
    throw new UsageError(`option '--${name}' is ambiguous; possibilities: ${list}`);
  }
  return hits[0]!;
}
