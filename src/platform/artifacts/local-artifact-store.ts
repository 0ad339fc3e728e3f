// ArtifactStore over a local directory (embedded mode) or a shared volume
// (distributed mode). Writes are atomic — temp file in the same directory, fsync,
// rename — so a reader (another process on the shared volume, or the same process
// after a crash) sees either the old bytes or the new, never a torn file. Relative
// paths are confined to the root: `..`, absolute paths and NUL are rejected, since
// paths can originate from API input (snapshot ids, model ids).
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ArtifactStore } from './artifact-store.js';

export class ArtifactPathError extends Error {
  readonly retriable = false;
  constructor(
    readonly relPath: string,
    reason: string,
  ) {
    super(`artifact path ${JSON.stringify(relPath)}: ${reason}`);
    this.name = 'ArtifactPathError';
  }
}

export class ArtifactNotFoundError extends Error {
  readonly retriable = false;
  constructor(readonly relPath: string) {
    super(`artifact ${JSON.stringify(relPath)} not found`);
    this.name = 'ArtifactNotFoundError';
  }
}

export class LocalArtifactStore implements ArtifactStore {
  readonly root: string;

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
    mkdirSync(this.root, { recursive: true });
  }

  resolve(relPath: string): string {
    if (typeof relPath !== 'string' || relPath.length === 0) throw new ArtifactPathError(String(relPath), 'must be a non-empty string');
    if (relPath.includes('\0')) throw new ArtifactPathError(relPath, 'contains a NUL byte');
    if (isAbsolute(relPath) || /^[a-zA-Z]:/.test(relPath)) throw new ArtifactPathError(relPath, 'must be relative to the artifact root');
    const parts = relPath.split(/[\\/]+/);
    if (parts.includes('..')) throw new ArtifactPathError(relPath, 'must not contain ".." segments');
    const abs = resolve(this.root, relPath);
    const rel = relative(this.root, abs);
    // belt and braces after the segment check: the resolved path must stay inside root
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw new ArtifactPathError(relPath, 'escapes the artifact root');
    return abs;
  }

  async put(relPath: string, data: Uint8Array | string): Promise<void> {
    const target = this.resolve(relPath);
    await mkdir(dirname(target), { recursive: true });
    const tmp = join(dirname(target), `.${randomBytes(6).toString('hex')}.tmp`);
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      // fsync before rename: otherwise a crash can leave the renamed file empty
      await fh.sync();
    } catch (err) {
      await fh.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await fh.close();
    try {
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async get(relPath: string): Promise<Buffer> {
    const abs = this.resolve(relPath);
    try {
      return await readFile(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ArtifactNotFoundError(relPath);
      throw err;
    }
  }

  async exists(relPath: string): Promise<boolean> {
    const abs = this.resolve(relPath);
    try {
      await stat(abs);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Every file under `prefix` (a directory, '' for all), as sorted relative paths
   *  with '/' separators; in-flight temp files are not listed. */
  async list(prefix: string): Promise<string[]> {
    const base = prefix === '' || prefix === '.' ? this.root : this.resolve(prefix);
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw err;
      }
      for (const e of entries) {
        const abs = join(dir, e.name);
        if (e.isDirectory()) await walk(abs);
        else if (e.isFile() && !(e.name.startsWith('.') && e.name.endsWith('.tmp'))) out.push(relative(this.root, abs).split(sep).join('/'));
      }
    };
    await walk(base);
    return out.sort();
  }
}
