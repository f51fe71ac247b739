/** The human-readable table of `erofs-share report`. */
import type { EngineFigures, ShareRunReport } from './report.js';

/** 1536 -> "1.50 KiB". */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(2)} ${units[u]}`;
}

function table(head: string[], rows: string[][], leftCols = 1): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string =>
    r.map((c, i) => (i < leftCols ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

function engineLine(label: string, e: EngineFigures): string {
  return `  ${label}: filled ${humanBytes(e.fillBytes)} in ${e.fills} reads, ${e.hits} page hits, ` +
    `${e.misses} misses, ${e.evictions} evictions, ${humanBytes(e.residentBytes)} resident at the end`;
}

/** The report as the table and notes printed without --json. */
export function formatReport(r: ShareRunReport): string {
  const out: string[] = [];
  const mode = r.share ? `inode sharing on, domain_id ${JSON.stringify(r.domainId)}` : 'inode sharing off (--no-share)';
  const budget = r.engines.withSharing.maxBytes;
  out.push(`erofs-share report: ${r.images.length} image${r.images.length === 1 ? '' : 's'}, ${mode}, ` +
    `page cache budget ${budget === null ? 'unlimited' : humanBytes(budget)}`);
  out.push('');
  const rows = r.images.map((i) => [
    i.name, String(i.files), humanBytes(i.bytesRead), humanBytes(i.withoutSharingBytes), humanBytes(i.withSharingBytes),
    `${i.reductionPercent.toFixed(2)}%`, humanBytes(i.boundBytes), String(i.sharedFiles),
  ]);
  rows.push([
    'total', String(r.files), humanBytes(r.bytesRead), humanBytes(r.withoutSharingBytes), humanBytes(r.withSharingBytes),
    `${r.reductionPercent.toFixed(2)}%`, humanBytes(r.boundBytes), String(r.images.reduce((s, i) => s + i.sharedFiles, 0)),
  ]);
  out.push(table(['IMAGE', 'FILES', 'READ', 'WITHOUT SHARING', 'WITH SHARING', 'REDUCTION', 'FILE-LEVEL BOUND', 'SHARED FILES'], rows));
  out.push('');
  const saved = r.withoutSharingBytes - r.withSharingBytes;
  const boundSaved = r.withoutSharingBytes - r.boundBytes;
  out.push(`saving: ${humanBytes(saved)} (${r.reductionPercent.toFixed(2)}%); the file-level bound saves ` +
    `${humanBytes(Math.max(0, boundSaved))} (${r.boundReductionPercent.toFixed(2)}%): ${r.boundAchievedPercent.toFixed(2)}% of it reached`);
  if (budget !== null) {
    out.push('page cache bytes are working sets (distinct pages read); with the budget the engines did:');
    out.push(engineLine('without sharing', r.engines.withoutSharing));
    out.push(engineLine('with sharing   ', r.engines.withSharing));
  }
  for (const i of r.images) {
    if (i.sharing !== 'on' && r.share) out.push(`note: ${i.name}: sharing ${i.sharing}; none of its files share`);
    const priv = Object.entries(i.privateFiles).map(([k, v]) => `${v} ${k}`);
    if (i.sharing === 'on' && priv.length > 0) out.push(`note: ${i.name}: files not shared: ${priv.join(', ')}`);
    if (i.missingPaths.length > 0) {
      const shown = i.missingPaths.slice(0, 5).join(', ');
      out.push(`note: ${i.name}: ${i.missingPaths.length} workload path(s) not in this image (or not regular files): ${shown}` +
        (i.missingPaths.length > 5 ? ', ...' : ''));
    }
    for (const w of i.warnings.slice(0, 5)) out.push(`warning: ${i.name}: ${w}`);
    if (i.warnings.length > 5) out.push(`warning: ${i.name}: ... ${i.warnings.length - 5} more`);
  }
  if (r.mismatches.length === 0) {
    out.push(`check: every byte read with sharing equals the byte read without it (${r.files} files, ${humanBytes(r.bytesRead)})`);
  } else {
    out.push(`check FAILED: ${r.mismatches.length} file(s) read differently with sharing:`);
    for (const m of r.mismatches.slice(0, 20)) {
      out.push(`  ${m.image}: ${m.path}: ${m.offset < 0 ? 'lengths differ' : `first difference at byte ${m.offset}`}`);
    }
    if (r.mismatches.length > 20) out.push(`  ... ${r.mismatches.length - 20} more`);
  }
  return out.join('\n') + '\n';
}
