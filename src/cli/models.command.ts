// `outerloop models list | register DIR | promote VERSION`: the policy registry from
// the command line (the admin API's routes call the same functions). Results go to
// stdout; logs to stderr.
import type { DataSource } from 'typeorm';
import type { OuterloopConfig } from '../config/config.js';
import { LocalArtifactStore } from '../platform/artifacts/local-artifact-store.js';
import { createEventBus } from '../platform/messaging/index.js';
import { listPolicies, ModelRegistryError, promotePolicy, registerPolicy } from '../services/gateway/admin/model-registry.js';
import { stringFlag, takeFlags, UsageError, type ParsedArgs } from './args.js';
import { withDatabase } from './database.js';

async function withBus<T>(ds: DataSource, config: OuterloopConfig, fn: (bus: ReturnType<typeof createEventBus>) => Promise<T>): Promise<T> {
  const bus = createEventBus(config, ds);
  await bus.start();
  try {
    return await fn(bus);
  } finally {
    await bus.close();
  }
}

export async function modelsCommand(args: ParsedArgs): Promise<void> {
  const [sub, operand, ...extra] = args.positionals;
  if (extra.length) throw new UsageError(`models ${sub}: unexpected argument "${extra[0]}"`);
  try {
    if (sub === 'list') {
      takeFlags(args, []);
      const versions = await withDatabase((ds) => listPolicies(ds));
      for (const v of versions) process.stdout.write(`${v.version}\t${v.status}${v.serving ? ' (serving)' : ''}\t${v.createdAt}\t${v.artifactPath}\n`);
      return;
    }
    if (sub === 'register') {
      takeFlags(args, []);
      if (!operand) throw new UsageError('models register DIR: the artifact directory is required');
      const r = await withDatabase((ds, config) => withBus(ds, config, (bus) => registerPolicy(ds, new LocalArtifactStore(config.artifactDir), bus, operand)));
      process.stdout.write(`${r.version}\n`);
      process.stderr.write(
        r.created ? `registered ${r.version} as a candidate (artifact ${r.artifactPath}); serve it with: outerloop models promote ${r.version}\n` : `${r.version} was already registered (status ${r.status})\n`,
      );
      return;
    }
    if (sub === 'promote') {
      const f = takeFlags(args, ['reason']);
      if (!operand) throw new UsageError('models promote VERSION: the version is required (see outerloop models list)');
      const reason = stringFlag(f.reason, 'reason') ?? 'promoted with outerloop models promote';
      const r = await withDatabase((ds, config) => withBus(ds, config, (bus) => promotePolicy(ds, bus, operand, reason)));
      process.stdout.write(`${r.deploymentId}\n`);
      process.stderr.write(`${r.version} is production (deployment ${r.deploymentId}; previous ${r.previousProduction ?? 'none'}); gateways reload on the model event\n`);
      return;
    }
  } catch (err) {
    // the operator's input was wrong (no such version, not an artifact): a usage error, not a crash
    if (err instanceof ModelRegistryError) throw new UsageError(err.message);
    throw err;
  }
  throw new UsageError(sub ? `models: unknown subcommand "${sub}" (list, register, promote)` : 'models: a subcommand is required (list, register, promote)');
}
