// The ArtifactStore port: content-addressed blobs (models, dataset snapshots).
// Embedded and distributed modes both use a directory (distributed: a shared
// volume); the port keeps object storage a drop-in later.

export interface ArtifactStore {
  /** absolute path of a stored artifact directory or file, for readers that need a path (ORT) */
  resolve(relPath: string): string;
  put(relPath: string, data: Uint8Array | string): Promise<void>;
  get(relPath: string): Promise<Buffer>;
  exists(relPath: string): Promise<boolean>;
  list(prefix: string): Promise<string[]>;
}

export const ARTIFACT_STORE = Symbol('ARTIFACT_STORE');
