// Arguments of `outerloop scenario run` → LoadOptions, with errors that name the flag.
// Parsing only: the CLI (src/main.ts) owns process.argv, the environment and printing.
//
//   outerloop scenario run --users 8 --rate 4 --duration 60s --url http://localhost:8080
//     [--bias length=0.5,confidence=0.2,noise=0.1,adversarial=0.02] [--seed 1]
//     [--api-key sk-…] [--model outerloop] [--compare samples|versions] [--max-tokens 64]
//     [--temperature 1] [--progress 5]

import { parseBiasSpec } from '../users/bias-spec.js';
import type { LoadOptions } from './run-load.js';

export class ScenarioArgsError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioArgsError';
  }
}

const FLAGS = ['users', 'rate', 'duration', 'url', 'bias', 'seed', 'api-key', 'model', 'compare', 'max-tokens', 'temperature', 'progress'] as const;
type Flag = (typeof FLAGS)[number];

/** "90", "90s", "2m", "1h", "1.5m" → seconds */
export function parseDurationS(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (!m) throw new ScenarioArgsError(`--duration: "${text}" is not a duration (e.g. 60, 60s, 5m, 1h)`);
  const seconds = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  if (!(seconds > 0)) throw new ScenarioArgsError(`--duration must be positive, got "${text}"`);
  return seconds;
}

export function parseScenarioRunArgs(argv: readonly string[]): LoadOptions {
  const values = new Map<Flag, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ScenarioArgsError(`unexpected argument "${arg}" (flags: ${FLAGS.map((f) => `--${f}`).join(' ')})`);
    const eq = arg.indexOf('=');
    const name = (eq > 0 ? arg.slice(2, eq) : arg.slice(2)) as Flag;
    if (!FLAGS.includes(name)) throw new ScenarioArgsError(`unknown flag --${name} (flags: ${FLAGS.map((f) => `--${f}`).join(' ')})`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new ScenarioArgsError(`--${name} needs a value`);
    if (values.has(name)) throw new ScenarioArgsError(`--${name} is given twice`);
    values.set(name, value);
  }
  const number = (flag: Flag, fallback?: number, { integer = false, min = -Infinity } = {}): number => {
    const text = values.get(flag);
    if (text === undefined) {
      if (fallback === undefined) throw new ScenarioArgsError(`--${flag} is required`);
      return fallback;
    }
    const v = Number(text);
    if (text.trim() === '' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min) {
      throw new ScenarioArgsError(`--${flag} must be ${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` ≥ ${min}` : ''}, got "${text}"`);
    }
    return v;
  };
  const url = values.get('url');
  if (url === undefined) throw new ScenarioArgsError('--url is required (the gateway, e.g. http://localhost:8080)');
  const duration = values.get('duration');
  if (duration === undefined) throw new ScenarioArgsError('--duration is required (e.g. 60s)');
  const compare = values.get('compare');
  if (compare !== undefined && compare !== 'samples' && compare !== 'versions') throw new ScenarioArgsError(`--compare must be "samples" or "versions", got "${compare}"`);
  const rate = number('rate');
  if (!(rate > 0)) throw new ScenarioArgsError(`--rate must be positive, got ${rate}`);
  const options: LoadOptions = {
    baseUrl: url,
    users: number('users', undefined, { integer: true, min: 1 }),
    rate,
    durationS: parseDurationS(duration),
    bias: parseBiasSpec(values.get('bias') ?? ''),
    seed: number('seed', 1, { integer: true }),
    progressIntervalS: number('progress', 5, { min: 0 }),
  };
  if (values.has('api-key')) options.apiKey = values.get('api-key');
  if (values.has('model')) options.api = { model: values.get('model')! };
  if (compare) options.compare = compare;
  if (values.has('max-tokens')) options.maxTokens = number('max-tokens', undefined, { integer: true, min: 1 });
  if (values.has('temperature')) options.temperature = number('temperature', undefined, { min: 0 });
  return options;
}
