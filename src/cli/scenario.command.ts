// `outerloop scenario run …`: the reference scenario's load generator against a
// running gateway (flags parsed by the scenario's parseScenarioRunArgs; --url
// defaults to this configuration's gateway address).
import { loadConfig } from '../config/config.js';
import { parseScenarioRunArgs, ScenarioArgsError } from '../scenario/loadgen/cli-args.js';
import { formatLoadSummary, runLoad } from '../scenario/loadgen/run-load.js';
import { UsageError } from './args.js';

export async function scenarioCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'run') throw new UsageError('scenario run --users N --rate R --duration 60s [--bias SPEC|mismatch|honest] [--url URL] [--seed N] [--api-key K]');
  const { http } = loadConfig();
  const hasUrl = rest.some((a) => a === '--url' || a.startsWith('--url='));
  const defaultUrl = `http://${http.host === '0.0.0.0' ? '127.0.0.1' : http.host}:${http.port}`;
  let options;
  try {
    options = parseScenarioRunArgs(hasUrl ? rest : [...rest, '--url', defaultUrl]);
  } catch (err) {
    if (err instanceof ScenarioArgsError) throw new UsageError(err.message);
    throw err;
  }
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  // progress lines are logs (stderr); the summary is the command's output (stdout)
  const summary = await runLoad({ ...options, log: (line) => process.stderr.write(line + '\n'), signal: abort.signal });
  process.stdout.write(formatLoadSummary(summary) + '\n');
  if (summary.failedTurns > 0) {
    process.stderr.write(`outerloop scenario run: ${summary.failedTurns} of ${summary.completedTurns + summary.failedTurns} turns failed\n`);
    process.exitCode = 1;
  }
}
