import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ArtifactNotFoundError, ArtifactPathError, LocalArtifactStore } from '../../../../src/platform/artifacts/local-artifact-store.js';

const root = mkdtempSync(join(tmpdir(), 'outerloop-artifacts-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('LocalArtifactStore', () => {
  const store = new LocalArtifactStore(join(root, 'store'));

  it('round-trips bytes and strings, creating directories', async () => {
    await store.put('snapshots/abc/train.jsonl', '{"a":1}\n');
    await store.put('models/m1/params.bin', new Uint8Array([0, 1, 2, 255]));
    assert.equal((await store.get('snapshots/abc/train.jsonl')).toString('utf8'), '{"a":1}\n');
    assert.deepEqual([...(await store.get('models/m1/params.bin'))], [0, 1, 2, 255]);
    assert.equal(await store.exists('models/m1/params.bin'), true);
    assert.equal(await store.exists('models/m1/missing.bin'), false);
    assert.equal(store.resolve('models/m1'), join(root, 'store', 'models', 'm1'));
  });

  it('overwrites atomically and leaves no temp files behind', async () => {
    await store.put('x/file.txt', 'old');
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put('x/file.txt', `new-${i}`.repeat(1000))));
    const content = (await store.get('x/file.txt')).toString();
    assert.match(content, /^(new-\d+)+$/);
    assert.equal(new Set(content.match(/new-\d+/g)).size, 1, 'the file is one writer\'s bytes, not a mix');
    assert.deepEqual(readdirSync(join(root, 'store', 'x')), ['file.txt']);
  });

  it('lists files under a prefix, sorted, with / separators', async () => {
    await store.put('snapshots/abc/heldout.jsonl', '');
    await store.put('snapshots/abc/manifest.json', '{}');
    assert.deepEqual(await store.list('snapshots/abc'), ['snapshots/abc/heldout.jsonl', 'snapshots/abc/manifest.json', 'snapshots/abc/train.jsonl']);
    assert.deepEqual(await store.list('snapshots/none'), []);
    assert.ok((await store.list('')).includes('models/m1/params.bin'));
  });

  it('rejects path traversal, absolute paths and NUL bytes', async () => {
    writeFileSync(join(root, 'secret.txt'), 'top secret');
    for (const bad of ['../secret.txt', 'a/../../secret.txt', '/etc/passwd', 'a\\..\\..\\secret.txt', 'a\0b', '', '.']) {
      await assert.rejects(store.get(bad), ArtifactPathError, `get(${JSON.stringify(bad)}) must be rejected`);
      await assert.rejects(store.put(bad, 'x'), ArtifactPathError, `put(${JSON.stringify(bad)}) must be rejected`);
    }
    assert.throws(() => store.resolve('../secret.txt'), (e: unknown) => e instanceof ArtifactPathError && e.retriable === false);
  });

  it('a missing artifact is a typed, non-retriable error', async () => {
    await assert.rejects(store.get('nope/nothing.bin'), (e: unknown) => e instanceof ArtifactNotFoundError && e.retriable === false);
  });

  it('put does not follow a symlinked file out of the root', async () => {
    writeFileSync(join(root, 'outside.txt'), 'untouched');
    symlinkSync(join(root, 'outside.txt'), join(root, 'store', 'link.txt'));
    await store.put('link.txt', 'replaced');
    // rename replaces the link itself; the file it pointed to is untouched
    const { readFileSync } = await import('node:fs');
    assert.equal(readFileSync(join(root, 'outside.txt'), 'utf8'), 'untouched');
    assert.equal((await store.get('link.txt')).toString(), 'replaced');
  });
});
