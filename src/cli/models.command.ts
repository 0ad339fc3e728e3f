// `outerloop models list | register DIR | promote VERSION`: the policy registry from
// the command line (the admin API's routes call the same functions). Results go to
// stdout; logs to stderr.
import { loadConfig, type OuterloopConfig } from '../config/config.js';
import { LocalArtifactStore } from '../platform/artifacts/local-artifact-store.js';
import { configureLogging, Logger } from '../platform/logging/logger.js';
import type { EventBus } from '../platform/messaging/event-bus.js';
import { createEventBus } from '../platform/messaging/index.js';
import { createDataSource } from '../platform/persistence/data-source.js';
import { TypeOrmDatabase } from '../platform/persistence/database.js';
import { createRepositories, type Repositories } from '../platform/persistence/repositories/index.js';
import { listPolicies, ModelRegistryError, promotePolicy, registerPolicy } from '../services/gateway/admin/model-registry.js';
import { stringFlag, takeFlags, UsageError, type ParsedArgs } from './args.js';

/** The registry's repositories and the event bus (the model events go through the
 *  same database in embedded mode, so a running gateway sees them). */
async function withRegistry<T>(fn: (repos: Repositories, bus: EventBus, config: OuterloopConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  configureLogging(config.log);
  const dataSource = createDataSource(config.database);
  const database = new TypeOrmDatabase(dataSource);
  await database.connect(new Logger('cli'), { signal: AbortSignal.timeout(60_000) });
  try {
    if (config.runMigrations) await database.migrate();
    const bus = createEventBus(config, dataSource);
    await bus.start();
    try {
      return await fn(createRepositories(dataSource), bus, config);
    } finally {
      await bus.close();
    }
  } finally {
    await database.close();
  }
}

export async function modelsCommand(args: ParsedArgs): Promise<void> {
  const [sub, operand, ...extra] = args.positionals;
  if (extra.length) throw new UsageError(`models ${sub}: unexpected argument "${extra[0]}"`);
  try {
    if (sub === 'list') {
      takeFlags(args, []);
      const versions = await withRegistry((repos) => listPolicies(repos));
      for (const v of versions) process.stdout.write(`${v.version}\t${v.status}${v.serving ? ' (serving)' : ''}\t${v.createdAt}\t${v.artifactPath}\n`);
      return;
    }
    if (sub === 'register') {
      takeFlags(args, []);
      if (!operand) throw new UsageError('models register DIR: the artifact directory is required');
      const r = await withRegistry((repos, bus, config) => registerPolicy(repos, new LocalArtifactStore(config.artifactDir), bus, operand));
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
      const r = await withRegistry((repos, bus) => promotePolicy(repos, bus, operand, reason));
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
