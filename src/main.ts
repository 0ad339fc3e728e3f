#!/usr/bin/env node
// The one binary: `outerloop start --roles …`, `migrate`, `train-base`, `snapshot`,
// `keys create`, `scenario run`. Configuration is read once, here.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Registry } from 'prom-client';
import { ConfigError, loadConfig, type OuterloopConfig } from './config/config.js';
import { parseArgs, stringFlag, takeFlags, UsageError, type ParsedArgs } from './cli/args.js';
import { configureLogging, Logger, NestLoggerAdapter } from './platform/logging/logger.js';
import { instrumentHttp } from './platform/metrics/metrics.js';
import { METRICS } from './platform/tokens.js';
import { AppModule } from './services/app.module.js';
import { httpServerOptions } from './services/gateway/http/server-options.js';

const log = new Logger('outerloop');

const USAGE = `usage: outerloop <command> [options]

commands:
  start [--roles gateway,ingest,trainer,evaluator,orchestrator]   run the given roles (default: all, one process)
  migrate                                                          apply pending database migrations
  train-base [--out DIR] [--seed N] [--minutes M]                  train the shipped base policy (SFT on the scenario corpus)
  train rm --snapshot ID [--ensemble K] [--seed N] [--epochs E]  train a reward model on a dataset snapshot and register it
  snapshot [--since ISO] [--until ISO] [--min-margin X]            freeze preference pairs into a dataset snapshot
  keys create --name NAME --scopes chat,feedback,admin [--rate-limit N]   create an API key (printed once)
  scenario run --users N --rate R --duration 60s [--bias SPEC|mismatch] [--url URL] [--seed N] [--api-key K]
                                                                   drive simulated users against a running gateway
  eval --candidate DIR|VERSION [--incumbent DIR|VERSION] [--suites a,b] [--seed N] [--policy FILE]
                                                                   evaluate a candidate against the incumbent; print the report path and the verdicts
  gate --decision ID|--evaluation ID|--recent N [--policy FILE --dry-run]
                                                                   show stored gate decisions, or replay a policy over them
  loop list|show ID|trigger|pause|resume|approve ID|reject ID|rollback ID|pin MODEL|lineage model|feedback ID|canary
                                                                   the loop's admin API of a running orchestrator (docs/orchestrator.md)

configuration: environment variables OUTERLOOP_* (see README).`;

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
  takeFlags(args, []);
  const config = loadConfig();
  configureLogging(config.log);
  const { openDatabase } = await import('./platform/persistence/database.js');
  const { database } = openDatabase(config.database);
  await database.connect(log, { signal: AbortSignal.timeout(120_000) });
  try {
    const applied = await database.migrate();
    log.info(applied.length ? 'migrations applied' : 'database is up to date', { applied });
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
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
    case 'keys':
      return (await import('./cli/keys.command.js')).keysCommand(args);
    case 'scenario':
      return (await import('./cli/scenario.command.js')).scenarioCommand(rest);
    case 'eval':
      return (await import('./cli/eval.command.js')).evalCommand(args);
    case 'gate':
      return (await import('./cli/gate.command.js')).gateCommand(args);
    case 'loop':
      return (await import('./cli/loop.command.js')).loopCommand(args);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`outerloop: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof UsageError) {
    process.stderr.write(`outerloop: ${err.message}\n\n${USAGE}\n`);
    process.exit(64);
  }
  log.error('fatal', err);
  process.exit(1);
});

