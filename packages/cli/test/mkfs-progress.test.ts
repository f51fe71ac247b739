// The progress spinner: on only for a sized terminal, silent otherwise.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { startProgress } from '../src/mkfs/progress.js';

function fakeTty(columns: number): Writable & { isTTY: boolean; columns: number; text: string } {
  const w = new Writable({
    write(chunk, _enc, cb) {
      w.text += String(chunk);
      cb();
    },
  }) as Writable & { isTTY: boolean; columns: number; text: string; cursorTo(): boolean; clearLine(): boolean; moveCursor(): boolean };
  w.isTTY = true;
  w.columns = columns;
  w.text = '';
  w.cursorTo = () => true;
  w.clearLine = () => true;
  w.moveCursor = () => true;
  return w;
}

describe('mkfs progress', () => {
  it('writes nothing when disabled', async () => {
    const s = fakeTty(80);
    const p = await startProgress({ enabled: false, stream: s });
    p.phase('scanning');
    p.update({ filesDone: 1, filesTotal: 2, bytesDone: 1, bytesTotal: 2 });
    p.stop();
    assert.equal(s.text, '');
  });

  it('stays off on a terminal that reports 0 columns (ora would redraw forever)', async () => {
    const s = fakeTty(0);
    const p = await startProgress({ enabled: true, stream: s });
    p.phase('scanning');
    p.stop();
    assert.equal(s.text, '');
  });

  it('shows files and bytes on a sized terminal', async () => {
    const s = fakeTty(100);
    const p = await startProgress({ enabled: true, stream: s });
    p.phase('writing x.erofs');
    p.update({ filesDone: 2, filesTotal: 2, bytesDone: 3 << 20, bytesTotal: 3 << 20 });
    await new Promise((r) => setTimeout(r, 150)); // one spinner frame
    p.stop();
    assert.match(s.text, /writing x\.erofs: 2\/2 files, 3\.0\/3\.0 MiB \(100%\)/);
  });
});
