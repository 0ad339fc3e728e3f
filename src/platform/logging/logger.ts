// Structured logs: one JSON object per line in production (OUTERLOOP_LOG_FORMAT=json,
// the default when stdout is not a terminal), a readable line on a terminal.
import type { LoggerService } from '@nestjs/common';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogSettings {
  format: 'json' | 'pretty';
  level: LogLevel;
}

let settings: LogSettings = {
  format: process.stdout.isTTY ? 'pretty' : 'json',
  level: (process.env.OUTERLOOP_LOG_LEVEL as LogLevel) in ORDER ? (process.env.OUTERLOOP_LOG_LEVEL as LogLevel) : 'info',
};

export function configureLogging(s: LogSettings): void {
  settings = s;
}

let allToStderr = false;
/** For commands whose stdout is data (`snapshot`, `keys create`…): every log line goes to stderr. */
export function sendAllLogsToStderr(): void {
  allToStderr = true;
}

function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { error: err.message, errorName: err.name, stack: err.stack };
  return { error: String(err) };
}

export class Logger {
  constructor(readonly context: string) {}

  child(context: string): Logger {
    return new Logger(`${this.context}.${context}`);
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, err?: unknown, fields?: Record<string, unknown>): void {
    this.write('error', msg, { ...(err === undefined ? {} : errorFields(err)), ...fields });
  }

  private write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < ORDER[settings.level]) return;
    const time = new Date().toISOString();
    const stream = allToStderr || level === 'error' || level === 'warn' ? process.stderr : process.stdout;
    if (settings.format === 'json') {
      stream.write(JSON.stringify({ time, level, context: this.context, msg, ...fields }) + '\n');
      return;
    }
    const color = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' }[level];
    const { stack, ...rest } = fields ?? {};
    const extra = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    stream.write(
      `${time.slice(11, 23)} ${color}${level.toUpperCase().padEnd(5)}\x1b[0m [${this.context}] ${msg}${extra ? ' ' + extra : ''}\n` +
        (typeof stack === 'string' && ORDER[settings.level] <= ORDER.debug ? stack + '\n' : ''),
    );
  }
}

/** Adapter so Nest's own messages go through the same writer. */
export class NestLoggerAdapter implements LoggerService {
  private write(level: LogLevel, message: unknown, context: unknown): void {
    const logger = new Logger(typeof context === 'string' ? context : 'nest');
    if (level === 'error') logger.error(String(message));
    else logger[level](String(message));
  }
  log(message: unknown, context?: unknown): void {
    this.write('info', message, context);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest.length ? rest[rest.length - 1] : undefined);
  }
  warn(message: unknown, context?: unknown): void {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: unknown): void {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: unknown): void {
    this.write('debug', message, context);
  }
}
