#!/usr/bin/env node
// The one binary: `outerloop start --roles …`, `migrate`, `train-base`, `snapshot`,
// `keys`, `models`, `scenario run` (their help: src/cli/commands.ts). Exit codes:
// 0 ok, 1 failure, 2 bad configuration, 64 usage error (BSD sysexits EX_USAGE).
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Registry } from 'prom-client';
import { ConfigError, loadConfig, unknownVariables, type OuterloopConfig } from './config/config.js';
import { numberFlag, parseArgs, stringFlag, takeFlags, UsageError, type ParsedArgs } from './cli/args.js';
import { commandHelp, findCommand, overviewHelp } from './cli/commands.js';
import { configureLogging, Logger, NestLoggerAdapter, sendAllLogsToStderr } from './platform/logging/logger.js';
import { instrumentHttp } from './platform/metrics/metrics.js';
import { METRICS } from './platform/tokens.js';
import { AppModule } from './services/app.module.js';
import { httpServerOptions } from './services/gateway/http/server-options.js';

const log = new Logger('outerloop');

export async function startServer(config: OuterloopConfig): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoles(config),
    new FastifyAdapter(httpServerOptions({ deadlineMs: config.gateway.deadlineMs })),
    { logger: new NestLoggerAdapter(), abortOnError: false },
  );
  instrumentHttp(app.getHttpAdapter().getInstance(), app.get<Registry>(METRICS));
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  await app.listen(config.http.port, config.http.host);
  log.info('listening', {
    url: `http://${config.http.host}:${config.http.port}`,
    mode: config.mode,
    roles: config.roles.join(','),
    database: config.database.type,
    bus: config.bus.type,
  });
  return app;
}

function installShutdownDeadline(config: OuterloopConfig): void {
  // Nest drains requests and consumers on SIGTERM; if that hangs past the grace
  // period, exit anyway so an orchestrator's restart is not blocked forever.
  const onSignal = (signal: string) => {
    log.info('shutting down', { signal, graceMs: config.shutdownGraceMs });
    setTimeout(() => {
      log.warn('shutdown grace period over; exiting', { graceMs: config.shutdownGraceMs });
      process.exit(1);
    }, config.shutdownGraceMs).unref();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

async function commandStart(args: ParsedArgs): Promise<void> {
  const f = takeFlags(args, ['roles']);
  const env = { ...process.env };
  const roles = stringFlag(f.roles, 'roles');
  if (roles) env.OUTERLOOP_ROLES = roles;
  const config = loadConfig(env);
  configureLogging(config.log);
  installShutdownDeadline(config);
  await startServer(config);
}

async function commandMigrate(args: ParsedArgs): Promise<void> {
  const f = takeFlags(args, ['wait', 'timeout']);
  if (f.wait !== undefined && f.wait !== true) throw new UsageError('--wait takes no value');
  const timeoutS = numberFlag(f.timeout, 'timeout', 600);
  if (!(timeoutS > 0)) throw new UsageError(`--timeout must be positive, got ${timeoutS}`);
  const config = loadConfig();
  configureLogging(config.log);
  const { openDatabase } = await import('./platform/persistence/database.js');
  const { database } = openDatabase(config.database);
  const signal = AbortSignal.timeout(timeoutS * 1000);
  await database.connect(log, { signal });
  try {
    if (f.wait) {
      // Kubernetes initContainers: the migrate Job applies, every role waits for it (two
      // processes applying the same migrations at once would race on the schema)
      let logged = false;
      while (await database.hasPendingMigrations()) {
        if (signal.aborted) throw new Error(`migrations still pending after ${timeoutS} s (is the migrate job running?)`);
        if (!logged) log.info('waiting for pending migrations to be applied by outerloop migrate');
        logged = true;
        await new Promise((r) => setTimeout(r, 1000));
      }
      log.info('database schema is up to date');
      return;
    }
    const applied = await database.migrate();
    log.info(applied.length ? 'migrations applied' : 'database is up to date', { applied });
  } finally {
    await database.close();
  }
}

/** Commands whose stdout is data: their logs must not corrupt it. */
const DATA_ON_STDOUT = new Set(['snapshot', 'prompts', 'keys', 'models', 'scenario', 'eval', 'gate', 'train']);

function warnUnknownVariables(): void {
  for (const { name, closest } of unknownVariables()) {
    log.warn(`unknown configuration variable ${name} is ignored${closest ? `; did you mean ${closest}?` : ''}`, { variable: name, closest });
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    const about = findCommand(rest[0]);
    if (rest[0] !== undefined && !about) throw new UsageError(`unknown command "${rest[0]}"`);
    process.stdout.write((about ? commandHelp(about) : overviewHelp()) + '\n');
    return;
  }
  const about = findCommand(command);
  if (!about) throw new UsageError(`unknown command "${command}"`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(commandHelp(about) + '\n');
    return;
  }
  if (DATA_ON_STDOUT.has(command)) sendAllLogsToStderr();
  warnUnknownVariables();
  const args = parseArgs(rest);
  switch (command) {
    case 'start':
      return commandStart(args);
    case 'migrate':
      return commandMigrate(args);
    case 'train-base':
      return (await import('./cli/train-base.command.js')).trainBaseCommand(args);
    case 'train':
      return (await import('./cli/train-rm.command.js')).trainRmCommand(args);
    case 'snapshot':
      return (await import('./cli/snapshot.command.js')).snapshotCommand(args);
    case 'prompts':
      return (await import('./cli/prompts.command.js')).promptsCommand(args);
    case 'keys':
      return (await import('./cli/keys.command.js')).keysCommand(args);
    case 'models':
      return (await import('./cli/models.command.js')).modelsCommand(args);
    case 'scenario':
      return (await import('./cli/scenario.command.js')).scenarioCommand(rest);
    case 'eval':
      return (await import('./cli/eval.command.js')).evalCommand(args);
    case 'gate':
      return (await import('./cli/gate.command.js')).gateCommand(args);
    case 'loop':
      return (await import('./cli/loop.command.js')).loopCommand(args);
  }
}

/** Errors that mean the input was wrong (the caller can fix it), reported like usage errors. */
async function asUsageError(err: unknown): Promise<UsageError | null> {
  if (err instanceof UsageError) return err;
  const { SnapshotFilterError } = await import('./domain/dataset/snapshot.js');
  if (err instanceof SnapshotFilterError) return new UsageError(err.message);
  return null;
}

main(process.argv.slice(2)).catch(async (err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`outerloop: ${err.message}\n`);
    process.exit(2);
  }
  const usage = await asUsageError(err);
  if (usage) {
    const command = findCommand(process.argv[2]);
    // one line: the first of the message (the help has the rest)
    process.stderr.write(`outerloop${command ? ' ' + command.name : ''}: ${usage.message.split('\n')[0]} (see: outerloop ${command ? command.name + ' ' : ''}--help)\n`);
    process.exit(64);
  }
  log.error('fatal', err);
  process.exit(1);
});
