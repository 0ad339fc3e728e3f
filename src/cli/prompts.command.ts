// `outerloop prompts freeze`: the RL prompt set from the completion log, as the loop's
// snapshot step freezes it (src/services/rl-prompt-set.ts), for a PPO run by hand
// (`outerloop train ppo --prompts ID`).
import { LocalArtifactStore } from '../platform/artifacts/local-artifact-store.js';
import { scenarioSuites } from '../scenario/eval-suites.js';
import { freezeRlPromptSet } from '../services/rl-prompt-set.js';
import { numberFlag, stringFlag, takeFlags, UsageError, type ParsedArgs } from './args.js';
import { withDatabase } from './database.js';

export async function promptsCommand(args: ParsedArgs): Promise<void> {
  const [sub, extra] = args.positionals;
  if (sub !== 'freeze' || extra !== undefined) throw new UsageError('prompts freeze [--to ISO] [--min-prompts N]');
  const f = takeFlags(args, ['to', 'min-prompts']);
  const to = stringFlag(f.to, 'to') ?? new Date().toISOString();
  if (Number.isNaN(Date.parse(to))) throw new UsageError(`--to needs an ISO 8601 time, got ${JSON.stringify(to)}`);
  const minFlag = f['min-prompts'] === undefined ? undefined : numberFlag(f['min-prompts'], 'min-prompts', 0);
  if (minFlag !== undefined && (!Number.isInteger(minFlag) || minFlag < 0)) throw new UsageError(`--min-prompts needs a non-negative integer, got ${minFlag}`);
  const set = await withDatabase((repositories, config) =>
    freezeRlPromptSet(
      { completions: repositories.completions, artifacts: new LocalArtifactStore(config.artifactDir) },
      { to: new Date(to).toISOString(), evalSuites: scenarioSuites(), minPrompts: minFlag ?? config.orchestrator.minRlPrompts },
    ),
  );
  const { id, prompts, seen, duplicates, excluded, empty } = set;
  process.stdout.write(JSON.stringify({ id, to: new Date(to).toISOString(), prompts: prompts.length, seen, duplicates, excluded, empty }) + '\n');
}
