import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { LocalArtifactStore } from '../../../../../src/platform/artifacts/local-artifact-store.js';
import { createDataSource } from '../../../../../src/platform/persistence/data-source.js';
import { datasetServiceContract } from './dataset-service.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'outerloop-dataset-'));
after(() => rmSync(dir, { recursive: true, force: true }));

datasetServiceContract(
  '[sqlite]',
  async () => {
    const ds = createDataSource({ type: 'better-sqlite3', path: join(dir, 'dataset.sqlite') });
    await ds.initialize();
    return { ds, store: new LocalArtifactStore(join(dir, 'artifacts')) };
  },
  (ds) => ds.destroy(),
);
