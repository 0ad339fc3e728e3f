import { LocalArtifactStore } from '../platform/artifacts/local-artifact-store.js';
import { createSnapshot } from '../services/ingest/dataset/dataset.service.js';
import { numberFlag, stringFlag, takeFlags, type ParsedArgs } from './args.js';
import { withDatabase } from './database.js';

export async function snapshotCommand(args: ParsedArgs): Promise<void> {
  const f = takeFlags(args, ['since', 'until', 'min-margin', 'heldout-fraction', 'no-dedupe']);
  const result = await withDatabase((repositories, config) =>
    createSnapshot(repositories, new LocalArtifactStore(config.artifactDir), {
      from: stringFlag(f.since, 'since') ?? null,
      to: stringFlag(f.until, 'until') ?? null,
      minMargin: numberFlag(f['min-margin'], 'min-margin', 1),
      heldoutFraction: numberFlag(f['heldout-fraction'], 'heldout-fraction', 0.1),
      dedupe: f['no-dedupe'] === undefined,
    }),
  );
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}
