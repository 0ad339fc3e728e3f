// What `outerloop --help` and `outerloop <command> --help` print. One entry per
// command; tests/e2e/deploy/cli.test.ts checks that every option a command accepts
// is listed here, and docs/cli.md is the same text for readers.

export interface CommandHelp {
  name: string;
  usage: string[];
  summary: string;
  options: Array<[flag: string, meaning: string]>;
  notes?: string[];
}

export const COMMANDS: CommandHelp[] = [
  {
    name: 'start',
    usage: ['outerloop start [--roles gateway,ingest,trainer,evaluator,orchestrator]'],
    summary: 'run the given roles in this process (default: all five, embedded mode)',
    options: [['--roles LIST', 'comma-separated roles; overrides OUTERLOOP_ROLES']],
    notes: ['Serves /healthz, /readyz and /metrics on OUTERLOOP_HOST:OUTERLOOP_PORT. SIGTERM drains and exits 0.'],
  },
  {
    name: 'migrate',
    usage: ['outerloop migrate [--wait] [--timeout S]'],
    summary: 'apply pending database migrations and exit (distributed mode runs it once before the roles)',
    options: [
      ['--wait', 'apply nothing: wait until another process has applied every migration (Kubernetes initContainers)'],
      ['--timeout S', 'give up after S seconds, exit 1 (default 600)'],
    ],
  },
  {
    name: 'train-base',
    usage: ['outerloop train-base [--out DIR] [--force] [--seed N] [--steps N | --minutes M] [--corpus-size N] [--batch-size N] [--lr X] [--checkpoint-on-cancel]'],
    summary: 'train a base policy by SFT on the reference scenario corpus and write it as an artifact',
    options: [
      ['--out DIR', 'where to write the artifact (default: <OUTERLOOP_DATA_DIR>/base-policy)'],
      ['--force', 'overwrite DIR when it already holds an artifact (e.g. the shipped models/base-policy)'],
      ['--seed N', 'seed of the corpus, initialisation and batch order (default 1)'],
      ['--steps N', 'optimizer steps (default 1600, which reproduces the shipped model)'],
      ['--minutes M', 'a time budget instead of --steps (not reproducible across machines)'],
      ['--corpus-size N', 'SFT examples generated (default 20000)'],
      ['--batch-size N', 'sequences per step (default 16)'],
      ['--lr X', 'peak learning rate (default 2e-3)'],
      ['--checkpoint-on-cancel', 'on Ctrl-C, write the artifact of the steps completed (default: write nothing, exit 130)'],
    ],
    notes: ['To serve the result: outerloop models register DIR, then outerloop models promote VERSION.'],
  },
  {
    name: 'train',
    usage: [
      'outerloop train rm --snapshot ID [--split train|heldout] [--ensemble K] [--seed N] [--epochs E] [--lr X] [--policy VERSION] [--min-pairs N] [--gate JSON] [--threads N] [--checkpoint-every STEPS]',
      'outerloop train ppo --rm VERSION [--prompts ID] [--steps N] [--seed S] [--policy VERSION] [--objective mean|uwo|wco] [--batch N] [--max-tokens N] [--kl-coef B] [--target-kl K] [--checkpoint-every N] [--threads N]',
      'outerloop train dpo --snapshot ID [--beta B] [--epochs E] [--seed S] [--policy VERSION] [--lr X] [--batch PAIRS] [--threads N]',
      'outerloop train rs --rm VERSION --n N [--prompts ID] [--epochs E] [--seed S] [--policy VERSION] [--objective mean|uwo|wco] [--max-tokens N] [--lr X] [--batch N] [--threads N]',
    ],
    summary: 'train a reward model on a dataset snapshot (rm), or a policy: PPO (ppo; docs/ppo.md) or rejection sampling (rs) against a registered reward model, DPO on a snapshot (dpo); the registered version as one JSON object on stdout',
    options: [
      ['--snapshot ID', 'rm, dpo: the dataset snapshot (required; outerloop snapshot prints its id)'],
      ['--split train|heldout', 'rm: train (default): the RM PPO optimises against; heldout: the judge RM for evaluation, trained on the held-out split only, which PPO refuses (docs/reward-model.md)'],
      ['--ensemble K', 'reward models in the ensemble (default 1)'],
      ['--seed N', 'seed (default 1 for rm, 0 for the policy trainers)'],
      ['--epochs E', 'passes over the training pairs (rm default 2, dpo 1) or over the winners (rs, default 1)'],
      ['--lr X', 'learning rate (rm default 3e-4, ppo 5e-5, dpo 1e-4, rs 1e-5)'],
      ['--policy VERSION', 'the policy whose weights initialise the reward model, or the policy trained (default: production)'],
      ['--min-pairs N', 'rm: refuse snapshots with fewer training pairs (default OUTERLOOP_RM_MIN_PAIRS, 50)'],
      ['--gate JSON', "rm: quality-gate thresholds for this run instead of the OUTERLOOP_RM_GATE_* configuration, e.g. '{\"lengthCorrelation\":{\"max\":0.2}}'"],
      ['--threads N', 'onnxruntime intra-op threads'],
      ['--checkpoint-every STEPS', 'checkpoint interval; Ctrl-C keeps checkpoints and the same command resumes (default 50)'],
      ['--rm VERSION', 'ppo, rs: the reward model optimised against (required; unknown, rejected and judge RMs are refused)'],
      ['--prompts ID', 'ppo, rs: a frozen prompt set, e.g. from outerloop prompts freeze (default, for a deployment with no completion log yet: the reference scenario\'s training prompts, no eval prompt)'],
      ['--steps N', 'ppo: PPO steps (default 64)'],
      ['--objective KIND', 'ppo, rs: mean, uwo or wco over the RM ensemble (default mean)'],
      ['--batch N', 'ppo: prompts per step (default 64); dpo: pairs per step (default 8); rs: winners per SFT step (default 16)'],
      ['--max-tokens N', 'ppo, rs: max generated tokens per response (default 48)'],
      ['--kl-coef B', 'ppo: KL coefficient β (the adaptive controller\'s start with --target-kl)'],
      ['--target-kl K', 'ppo: adaptive KL controller target (nats)'],
      ['--beta B', 'dpo: DPO β (default 0.1)'],
      ['--n N', 'rs: samples per prompt; the RM\'s best is kept for fine-tuning (required, 1–256)'],
    ],
    notes: [
      'Progress on stderr: a bar on a terminal, a line every 5 s otherwise. Ctrl-C stops at the next step: ppo resumes from its checkpoints and rs from its kept winners when the same command is run again; dpo starts over.',
    ],
  },
  {
    name: 'snapshot',
    usage: ['outerloop snapshot [--since ISO] [--until ISO] [--min-margin X] [--heldout-fraction F] [--no-dedupe]'],
    summary: 'freeze the preference pairs into an immutable, content-addressed dataset snapshot; prints it as JSON on stdout',
    options: [
      ['--since ISO', 'only feedback at or after this time'],
      ['--until ISO', 'only feedback before this time'],
      ['--min-margin X', 'drop pairs whose preference margin is below X (default 1)'],
      ['--heldout-fraction F', 'fraction of pairs held out for evaluation (default 0.1)'],
      ['--no-dedupe', 'keep duplicate pairs'],
    ],
  },
  {
    name: 'prompts',
    usage: ['outerloop prompts freeze [--to ISO] [--min-prompts N]'],
    summary: 'freeze the RL prompt set: the completion log\'s user prompts, deduplicated, no eval-suite prompt, stored under its content hash; prints its id and counts as JSON on stdout',
    options: [
      ['--to ISO', 'only completions created before this time (default: now)'],
      ['--min-prompts N', 'fail when fewer distinct prompts remain (default OUTERLOOP_LOOP_MIN_RL_PROMPTS, 8)'],
    ],
    notes: ['The loop\'s snapshot step freezes the same set with the iteration\'s start as --to; outerloop train ppo --prompts ID trains on it (docs/ppo.md).'],
  },
  {
    name: 'keys',
    usage: ['outerloop keys create --name NAME [--scopes chat,feedback,admin] [--rate-limit N]', 'outerloop keys revoke ID'],
    summary: 'create an API key (its secret is printed once, on stdout) or revoke one',
    options: [
      ['--name NAME', 'a label for the key (required for create)'],
      ['--scopes LIST', 'chat, feedback and/or admin (default chat,feedback)'],
      ['--rate-limit N', 'requests per minute for this key (default: OUTERLOOP_GATEWAY_DEFAULT_RATE_LIMIT)'],
    ],
  },
  {
    name: 'models',
    usage: ['outerloop models list', 'outerloop models register DIR', 'outerloop models promote VERSION [--reason TEXT]'],
    summary: 'the policy registry: list versions, register an artifact directory, promote a version to production',
    options: [['--reason TEXT', 'promote: why, recorded with the deployment']],
    notes: [
      'register verifies every file against the manifest, copies the artifact into OUTERLOOP_ARTIFACT_DIR and prints the version id.',
      'promote makes a new deployment; every running gateway reloads on the model event it publishes.',
    ],
  },
  {
    name: 'scenario',
    usage: ['outerloop scenario run --users N --rate R --duration 60s [--bias SPEC|mismatch|honest] [--url URL] [--seed N] [--api-key K]', '    [--model NAME] [--compare samples|versions] [--max-tokens N] [--temperature T] [--progress S]'],
    summary: 'drive simulated users of the reference scenario against a running gateway; exits 1 if any turn failed',
    options: [
      ['--users N', 'simulated users (required)'],
      ['--rate R', 'turns per second across all users (required)'],
      ['--duration D', 'how long: 90, 90s, 5m, 1h (required)'],
      ['--url URL', 'the gateway (default: http://OUTERLOOP_HOST:OUTERLOOP_PORT)'],
      ['--bias SPEC', 'feedback biases, e.g. length=0.5,noise=0.1, or a preset: mismatch, honest'],
      ['--seed N', 'seed of the users and their prompts'],
      ['--api-key K', 'API key with chat and feedback scopes (when the gateway requires keys)'],
      ['--model NAME', 'model name sent in requests (default outerloop)'],
      ['--compare MODE', 'pairwise votes between two samples or between two deployed versions'],
      ['--max-tokens N', 'max_tokens per chat'],
      ['--temperature T', 'sampling temperature'],
      ['--progress S', 'seconds between progress lines (on stderr)'],
    ],
  },
  {
    name: 'eval',
    usage: [
      'outerloop eval --candidate DIR|VERSION [--incumbent DIR|VERSION] [--suites a,b] [--seed N | --seeds 1,2] [--max-tokens N] [--policy FILE]',
      'outerloop eval --run ID|DIR [--rm VERSION] [--reference DIR|VERSION] [--judge VERSION] [--every K] [--incumbent DIR|VERSION] [--suites a,b] [--seed N | --seeds 1,2] [--max-tokens N] [--policy FILE]',
    ],
    summary: 'evaluate a candidate policy (or every checkpoint of a PPO run, choosing one by eval) against the incumbent, record the evaluation and gate decisions; prints the report path and the verdicts',
    options: [
      ['--candidate DIR|VERSION', 'the policy to evaluate: a registered version or an artifact directory (registered as a candidate first)'],
      ['--incumbent DIR|VERSION', 'what it is compared with (default: the production policy)'],
      ['--suites LIST', 'eval suites to run (default: every configured suite)'],
      ['--seed N', 'sampling seed'],
      ['--seeds LIST', 'several seeds, comma-separated'],
      ['--max-tokens N', 'max tokens per sampled answer'],
      ['--policy FILE', 'gate policy file (YAML) instead of the configured one'],
      ['--run ID|DIR', 'a PPO training run on record, or a run directory of step-NNNNNN checkpoints: evaluate its checkpoints, choose one by eval, judge it'],
      ['--rm VERSION', 'the reward model the run optimised (required with a run directory; checked against a recorded run)'],
      ['--reference DIR|VERSION', 'with a run directory: the policy the run started from (default: the production policy)'],
      ['--judge VERSION', 'judge RM (trained on held-out pairs) for the candidate-vs-incumbent win rate'],
      ['--every K', 'evaluate every k-th checkpoint, and always the last (default 1)'],
    ],
    notes: ['More in docs/evaluation.md.'],
  },
  {
    name: 'gate',
    usage: ['outerloop gate --decision ID | --evaluation ID | --recent N [--policy FILE --dry-run]'],
    summary: "show stored gate decisions (every rule's value, threshold and result), or replay another policy over them",
    options: [
      ['--decision ID', 'one gate decision'],
      ['--evaluation ID', 'the gate decisions of one evaluation'],
      ['--recent N', 'the N most recent decisions'],
      ['--policy FILE', 'a gate policy to replay over the stored inputs (with --dry-run)'],
      ['--dry-run', 'replay only: list the verdicts that would flip, write nothing'],
    ],
  },
  {
    name: 'loop',
    usage: ['outerloop loop list|show ID|trigger|pause|resume|approve ID|reject ID|rollback ID|pin MODEL|lineage MODEL|feedback ID|canary [--url URL] [--api-key K] [--reason TEXT]'],
    summary: "the loop's admin API of a running orchestrator, from a shell (docs/orchestrator.md)",
    options: [
      ['--url URL', 'the orchestrator (default: http://OUTERLOOP_HOST:OUTERLOOP_PORT)'],
      ['--api-key K', 'an API key with the admin scope'],
      ['--reason TEXT', 'why (recorded with approve, reject, rollback, pin, pause)'],
    ],
  },
];

export function findCommand(name: string | undefined): CommandHelp | undefined {
  return COMMANDS.find((c) => c.name === name);
}

export function commandHelp(c: CommandHelp): string {
  const lines = [`usage: ${c.usage[0]}`, ...c.usage.slice(1).map((u) => `       ${u}`), '', c.summary];
  if (c.options.length) {
    const width = Math.max(...c.options.map(([f]) => f.length));
    lines.push('', 'options:', ...c.options.map(([f, m]) => `  ${f.padEnd(width)}  ${m}`));
  }
  if (c.notes?.length) lines.push('', ...c.notes);
  lines.push('', 'configuration: environment variables OUTERLOOP_* (README, "Configuration").');
  return lines.join('\n');
}

export function overviewHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: outerloop <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'outerloop <command> --help' for a command's options.",
    'configuration: environment variables OUTERLOOP_* (README, "Configuration").',
  ].join('\n');
}

/** docs/cli.md: the same help text, for readers (tests/unit/deploy/cli-docs.test.ts keeps it equal). */
export function renderCliReference(): string {
  const parts = [
    '# Command line',
    '',
    'Generated from `src/cli/commands.ts` (the text `outerloop <command> --help` prints; `tests/unit/deploy/cli-docs.test.ts` keeps the two equal).',
    'Run the CLI as `npm run outerloop -- <command> …` (builds first) or `node dist/src/main.js <command>`.',
    'Exit codes: 0 success, 1 failure, 2 bad configuration, 64 usage error (one line on stderr).',
    '',
    '```',
    overviewHelp(),
    '```',
    '',
  ];
  for (const c of COMMANDS) parts.push(`## ${c.name}`, '', '```', commandHelp(c), '```', '');
  return parts.join('\n');
}
