import { loadConfig } from '../config/config.js';
import { formatLoadSummary, runLoad } from '../scenario/loadgen/run-load.js';
import { parseBiasSpec } from '../scenario/users/bias-spec.js';
import { numberFlag, stringFlag, takeFlags, UsageError, type ParsedArgs } from './args.js';

export async function scenarioCommand(args: ParsedArgs): Promise<void> {
  const [sub] = args.positionals;
  if (sub !== 'run') throw new UsageError('scenario run --users N --rate R --duration S [--bias SPEC] [--url URL] [--seed N] [--api-key K]');
  const f = takeFlags(args, ['users', 'rate', 'duration', 'bias', 'url', 'seed', 'api-key', 'max-tokens']);
  const bias = parseBiasSpec(stringFlag(f.bias, 'bias', '')!);
  const { http } = loadConfig();
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const summary = await runLoad({
    baseUrl: stringFlag(f.url, 'url', `http://${http.host === '0.0.0.0' ? '127.0.0.1' : http.host}:${http.port}`)!,
    users: numberFlag(f.users, 'users', 8),
    rate: numberFlag(f.rate, 'rate', 4),
    durationS: numberFlag(f.duration, 'duration', 60),
    bias,
    seed: numberFlag(f.seed, 'seed', 1),
    apiKey: stringFlag(f['api-key'], 'api-key'),
    maxTokens: f['max-tokens'] === undefined ? undefined : numberFlag(f['max-tokens'], 'max-tokens', 64),
    log: (line) => process.stdout.write(line + '\n'),
    signal: abort.signal,
  });
  process.stdout.write(formatLoadSummary(summary) + '\n');
}
