// Configuration: parsed from the environment once at start, validated, typed.
// A bad value stops the process with a message that names the variable
// (the habit of immich's getEnv and langfuse's EnvSchema).
import { z } from 'zod';
import { editDistance } from '../domain/edit-distance.js';
import { parseRmQualityGate, RmQualityGateConfigError, type RmQualityGateConfig } from '../rlhf/reward/quality-gate.js';

export const ROLES = ['gateway', 'ingest', 'trainer', 'evaluator', 'orchestrator'] as const;
export type Role = (typeof ROLES)[number];

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A quality-gate threshold in [min, max], or `off` (no such rule). */
const threshold = (min: number, max: number) => z.union([z.literal('off'), z.coerce.number().min(min).max(max)]);

/** Every environment variable Outerloop reads, with its default. The README's
 *  configuration reference and the docker-compose test are generated against this. */
export const EnvSchema = z.object({
  OUTERLOOP_MODE: z.enum(['embedded', 'distributed']).default('embedded'),
  OUTERLOOP_ROLES: z.string().default(ROLES.join(',')),
  OUTERLOOP_HOST: z.string().min(1).default('127.0.0.1'),
  OUTERLOOP_PORT: int(0, 65535).default(8080),
  OUTERLOOP_LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  OUTERLOOP_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  OUTERLOOP_DATA_DIR: z.string().min(1).default('.outerloop'),
  /** embedded mode: SQLite file; defaults to <data dir>/outerloop.sqlite */
  OUTERLOOP_SQLITE_PATH: z.string().optional(),
  /** distributed mode: PostgreSQL connection URL */
  OUTERLOOP_DATABASE_URL: z.string().url().optional(),
  /** distributed mode: comma-separated Kafka bootstrap brokers */
  OUTERLOOP_KAFKA_BROKERS: z.string().optional(),
  OUTERLOOP_KAFKA_CLIENT_ID: z.string().min(1).default('outerloop'),
  OUTERLOOP_TOPIC_PREFIX: z.string().default(''),
  /** where artifacts (models, snapshots) live; a shared volume in distributed mode */
  OUTERLOOP_ARTIFACT_DIR: z.string().optional(),
  /** the policy artifact served when the registry has none */
  OUTERLOOP_BASE_POLICY: z.string().default('models/base-policy'),
  OUTERLOOP_SHUTDOWN_GRACE_MS: int(0, 600_000).default(15_000),
  OUTERLOOP_MIGRATIONS_RUN: bool.optional(),
  OUTERLOOP_INTRA_OP_THREADS: int(0, 256).default(0),
  /** auto: open (no key needed) in embedded mode on a loopback host, keys required otherwise */
  OUTERLOOP_GATEWAY_AUTH: z.enum(['auto', 'required', 'open']).default('auto'),
  /** generations running at once; should equal the engine's batch slots */
  OUTERLOOP_GATEWAY_MAX_CONCURRENT: int(1, 1024).default(32),
  /** requests allowed to wait for a slot before 429 */
  OUTERLOOP_GATEWAY_MAX_WAITING: int(0, 100_000).default(64),
  /** whole-request deadline, queueing included */
  OUTERLOOP_GATEWAY_DEADLINE_MS: int(100, 3_600_000).default(120_000),
  OUTERLOOP_GATEWAY_DEFAULT_MAX_TOKENS: int(1, 100_000).default(256),
  OUTERLOOP_GATEWAY_SPOOL_MAX: int(1, 100_000_000).default(100_000),
  /** rate limit for keys without their own, requests per minute (0 = none) */
  OUTERLOOP_GATEWAY_DEFAULT_RATE_LIMIT: int(0, 1_000_000).default(0),
  /** best-of-n serving (docs/ppo.md): "N:REWARD_MODEL_VERSION" samples N and returns the RM's best; empty = off */
  OUTERLOOP_GATEWAY_BEST_OF_N: z
    .string()
    .trim()
    .regex(/^$|^([2-9]|[12]\d|3[0-2]):\S+$/, 'expected N:REWARD_MODEL_VERSION with 2 ≤ N ≤ 32 (e.g. 4:reward-0123abcd), or empty for off')
    .default(''),
  // ---- reward models (docs/reward-model.md): the RM quality gate every reward_model job
  // and the loop's rm_gate apply; `off` drops a rule. An RM that fails it is registered
  // `rejected` and PPO never uses it.
  /** fewer training pairs than this → the reward_model job fails and registers nothing */
  OUTERLOOP_RM_MIN_PAIRS: int(1, 100_000_000).default(50),
  /** held-out pairwise accuracy (point estimate) the new RM must reach */
  OUTERLOOP_RM_GATE_MIN_ACCURACY: threshold(0, 1).default(0.55),
  /** the lower bound of that accuracy's bootstrap 95% CI */
  OUTERLOOP_RM_GATE_MIN_ACCURACY_LOWER: threshold(0, 1).default('off'),
  /** expected calibration error of σ(r_c − r_r), 10 bins */
  OUTERLOOP_RM_GATE_MAX_ECE: threshold(0, 1).default('off'),
  /** Spearman correlation of score with response length (Singhal et al. 2023) */
  OUTERLOOP_RM_GATE_MAX_LENGTH_CORRELATION: threshold(-1, 1).default('off'),
  /** share of held-out pairs ordered as the previous production RM orders them */
  OUTERLOOP_RM_GATE_MIN_AGREEMENT: threshold(0, 1).default('off'),
  /** accuracy on style-perturbed hard pairs (RM-Bench "hard") */
  /** chance: an RM that prefers the padded, hedged or flattered answer (or a dressed-up wrong one) over the plain right one at least half the time rewards style over substance */
  OUTERLOOP_RM_GATE_MIN_HARD_PAIR_ACCURACY: threshold(0, 1).default(0.5),
  /** hard-pair accuracy minus the previous production RM's on the same pairs: 0 = must not lose to it */
  OUTERLOOP_RM_GATE_MIN_HARD_PAIR_DELTA: threshold(-1, 1).default(0),
  // ---- orchestrator (docs/orchestrator.md)
  /** cron expression of the scheduled iteration (@nestjs/schedule); "off" disables it */
  OUTERLOOP_LOOP_CRON: z.string().min(1).default('0 3 * * *'),
  /** data-readiness trigger: start an iteration once this many preference pairs are new since the last snapshot (0 = off) */
  OUTERLOOP_LOOP_MIN_NEW_PAIRS: int(0, 100_000_000).default(0),
  /** how long the loop lease lasts without renewal: a dead orchestrator's successor takes over after it */
  OUTERLOOP_LOOP_LEASE_MS: int(1000, 3_600_000).default(30_000),
  /** an iteration in one running state longer than this (in canary: the canary time limit plus this) is stuck: alert OuterloopLoopStuck */
  OUTERLOOP_LOOP_STUCK_AFTER_S: int(60, 30 * 86_400).default(7200),
  /** share of the snapshot's prompts held out: the RM gate's check pairs and the judge RM's training data (judge-train needs 50 pairs) */
  OUTERLOOP_LOOP_HELDOUT_FRACTION: z.coerce.number().gt(0).lt(1).default(0.1),
  /** members of the proxy RM's ensemble: the reference gate's ensemble-disagreement rule needs at least 2 */
  OUTERLOOP_LOOP_RM_ENSEMBLE: int(1, 16).default(2),
  OUTERLOOP_LOOP_PPO_STEPS: int(1, 1_000_000).default(20),
  /** prompts per PPO step (unset: the trainer's default, 64) */
  OUTERLOOP_LOOP_PPO_BATCH_SIZE: int(1, 4096).optional(),
  /** PPO's learning rate (unset: the trainer's default, 5e-5) */
  OUTERLOOP_LOOP_PPO_LEARNING_RATE: z.coerce.number().gt(0).lte(1).optional(),
  /** the snapshot step fails when the completion log yields fewer distinct non-eval prompts for PPO (the RL prompt set) */
  OUTERLOOP_LOOP_MIN_RL_PROMPTS: int(1, 10_000_000).default(8),
  /** comma-separated eval suites the evaluation job runs */
  OUTERLOOP_LOOP_EVAL_SUITES: z.string().min(1).default('extrinsic,refusal,diversity'),
  /** the evaluator's cumulative KL budget from the base policy (nats per response, summed over promotions); unset: accounted, not enforced */
  OUTERLOOP_EVAL_KL_BUDGET: z.coerce.number().gt(0).optional(),
  /** share of traffic (0..1) the canary gets, sticky per user */
  OUTERLOOP_CANARY_WEIGHT: z.coerce.number().gt(0).lt(1).default(0.1),
  /** bound on the false-promotion probability of the canary's mSPRT */
  OUTERLOOP_CANARY_ALPHA: z.coerce.number().gt(0).lt(0.5).default(0.05),
  OUTERLOOP_CANARY_MIN_SAMPLES: int(1, 1_000_000).default(30),
  /** sample budget: an undecided canary with this many observations rolls back */
  OUTERLOOP_CANARY_MAX_SAMPLES: int(1, 100_000_000).default(2000),
  OUTERLOOP_CANARY_TIME_LIMIT_MS: int(1000, 30 * 86_400_000).default(86_400_000),
  /** how often the canary analysis looks at the live feedback */
  OUTERLOOP_CANARY_POLL_MS: int(100, 3_600_000).default(30_000),
});
export type Env = z.infer<typeof EnvSchema>;

export interface OuterloopConfig {
  mode: 'embedded' | 'distributed';
  roles: Role[];
  http: { host: string; port: number };
  log: { format: 'json' | 'pretty'; level: 'debug' | 'info' | 'warn' | 'error' };
  dataDir: string;
  database:
    | { type: 'better-sqlite3'; path: string }
    | { type: 'postgres'; url: string };
  bus:
    | { type: 'embedded' }
    | { type: 'kafka'; brokers: string[]; clientId: string };
  topicPrefix: string;
  artifactDir: string;
  basePolicy: string;
  shutdownGraceMs: number;
  /** apply pending migrations at start (default: on in embedded mode) */
  runMigrations: boolean;
  intraOpThreads: number;
  gateway: {
    auth: 'auto' | 'required' | 'open';
    maxConcurrent: number;
    maxWaiting: number;
    deadlineMs: number;
    defaultMaxTokens: number;
    spoolMax: number;
    defaultRateLimitPerMinute: number;
    /** best-of-n serving: n samples per answer, the RM's best returned; null = off */
    bestOfN: { n: number; rewardModelVersion: string } | null;
  };
  evaluator: {
    /** the reference gate's kl-budget rule reads not_applicable while this is null */
    klBudget: number | null;
  };
  rewardModel: {
    minPairs: number;
    /** the RM quality gate (rlhf/reward/quality-gate.ts), validated */
    qualityGate: RmQualityGateConfig;
  };
  orchestrator: {
    /** null: no scheduled iterations */
    cron: string | null;
    minNewPairs: number;
    leaseMs: number;
    stuckAfterSeconds: number;
    /** the RM gate's held-out accuracy threshold (OUTERLOOP_RM_GATE_MIN_ACCURACY; 0 when that rule is off) */
    rmMinHeldoutAccuracy: number;
    heldoutFraction: number;
    rmEnsemble: number;
    ppoSteps: number;
    ppoBatchSize: number | null;
    ppoLearningRate: number | null;
    minRlPrompts: number;
    /** a PPO checkpoint every quarter of the steps (≥ 1): the evaluator chooses among them and fits the Gao curve (kl-before-predicted-peak) through them */
    ppoCheckpointEvery: number;
    evaluationSuites: string[];
    canary: { weight: number; alpha: number; minSamples: number; maxSamples: number; timeLimitMs: number; pollMs: number };
  };
}

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Parse and validate; throws ConfigError whose lines each name a variable. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  stdoutIsTTY = Boolean(process.stdout.isTTY),
): OuterloopConfig {
  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const parsed = EnvSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = String(i.path[0] ?? '?');
        return `${name}=${JSON.stringify(raw[name] ?? '')}: ${i.message}`;
      }),
    );
  }
  const e = parsed.data;
  const issues: string[] = [];

  const roles = e.OUTERLOOP_ROLES.split(',').map((r) => r.trim()).filter(Boolean);
  for (const r of roles) {
    if (!(ROLES as readonly string[]).includes(r)) {
      issues.push(`OUTERLOOP_ROLES=${JSON.stringify(e.OUTERLOOP_ROLES)}: unknown role "${r}" (known: ${ROLES.join(', ')})`);
    }
  }
  if (roles.length === 0) issues.push('OUTERLOOP_ROLES: at least one role is required');

  let database: OuterloopConfig['database'];
  let bus: OuterloopConfig['bus'];
  if (e.OUTERLOOP_MODE === 'distributed') {
    if (!e.OUTERLOOP_DATABASE_URL) issues.push('OUTERLOOP_DATABASE_URL: required when OUTERLOOP_MODE=distributed (postgres://user:pass@host:5432/db)');
    if (!e.OUTERLOOP_KAFKA_BROKERS) issues.push('OUTERLOOP_KAFKA_BROKERS: required when OUTERLOOP_MODE=distributed (host:9092[,host:9092])');
    database = { type: 'postgres', url: e.OUTERLOOP_DATABASE_URL ?? '' };
    const brokers = (e.OUTERLOOP_KAFKA_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean);
    for (const b of brokers) {
      if (!/^[^:\s]+:\d+$/.test(b)) issues.push(`OUTERLOOP_KAFKA_BROKERS=${JSON.stringify(e.OUTERLOOP_KAFKA_BROKERS)}: "${b}" is not host:port`);
    }
    bus = { type: 'kafka', brokers, clientId: e.OUTERLOOP_KAFKA_CLIENT_ID };
  } else {
    database = { type: 'better-sqlite3', path: e.OUTERLOOP_SQLITE_PATH ?? `${e.OUTERLOOP_DATA_DIR}/outerloop.sqlite` };
    bus = { type: 'embedded' };
  }
  if (e.OUTERLOOP_DATABASE_URL && !/^postgres(ql)?:\/\//.test(e.OUTERLOOP_DATABASE_URL)) {
    issues.push(`OUTERLOOP_DATABASE_URL: must start with postgres:// or postgresql://`);
  }
  if (e.OUTERLOOP_CANARY_MIN_SAMPLES > e.OUTERLOOP_CANARY_MAX_SAMPLES) {
    issues.push(`OUTERLOOP_CANARY_MIN_SAMPLES=${e.OUTERLOOP_CANARY_MIN_SAMPLES}: above OUTERLOOP_CANARY_MAX_SAMPLES=${e.OUTERLOOP_CANARY_MAX_SAMPLES}`);
  }
  if (e.OUTERLOOP_LOOP_CRON !== 'off' && e.OUTERLOOP_LOOP_CRON.trim().split(/\s+/).length < 5) {
    issues.push(`OUTERLOOP_LOOP_CRON=${JSON.stringify(e.OUTERLOOP_LOOP_CRON)}: a cron expression has 5 or 6 fields (or "off")`);
  }
  const qualityGate = rmQualityGateOf(e, issues);
  if (issues.length) throw new ConfigError(issues);

  return {
    mode: e.OUTERLOOP_MODE,
    roles: roles as Role[],
    http: { host: e.OUTERLOOP_HOST, port: e.OUTERLOOP_PORT },
    log: {
      format: e.OUTERLOOP_LOG_FORMAT === 'auto' ? (stdoutIsTTY ? 'pretty' : 'json') : e.OUTERLOOP_LOG_FORMAT,
      level: e.OUTERLOOP_LOG_LEVEL,
    },
    dataDir: e.OUTERLOOP_DATA_DIR,
    database,
    bus,
    topicPrefix: e.OUTERLOOP_TOPIC_PREFIX,
    artifactDir: e.OUTERLOOP_ARTIFACT_DIR ?? `${e.OUTERLOOP_DATA_DIR}/artifacts`,
    basePolicy: e.OUTERLOOP_BASE_POLICY,
    shutdownGraceMs: e.OUTERLOOP_SHUTDOWN_GRACE_MS,
    runMigrations: e.OUTERLOOP_MIGRATIONS_RUN ?? e.OUTERLOOP_MODE === 'embedded',
    intraOpThreads: e.OUTERLOOP_INTRA_OP_THREADS,
    gateway: {
      auth: e.OUTERLOOP_GATEWAY_AUTH,
      maxConcurrent: e.OUTERLOOP_GATEWAY_MAX_CONCURRENT,
      maxWaiting: e.OUTERLOOP_GATEWAY_MAX_WAITING,
      deadlineMs: e.OUTERLOOP_GATEWAY_DEADLINE_MS,
      defaultMaxTokens: e.OUTERLOOP_GATEWAY_DEFAULT_MAX_TOKENS,
      spoolMax: e.OUTERLOOP_GATEWAY_SPOOL_MAX,
      defaultRateLimitPerMinute: e.OUTERLOOP_GATEWAY_DEFAULT_RATE_LIMIT,
      bestOfN: e.OUTERLOOP_GATEWAY_BEST_OF_N === ''
        ? null
        : { n: Number(e.OUTERLOOP_GATEWAY_BEST_OF_N.split(':')[0]), rewardModelVersion: e.OUTERLOOP_GATEWAY_BEST_OF_N.slice(e.OUTERLOOP_GATEWAY_BEST_OF_N.indexOf(':') + 1) },
    },
    evaluator: { klBudget: e.OUTERLOOP_EVAL_KL_BUDGET ?? null },
    rewardModel: { minPairs: e.OUTERLOOP_RM_MIN_PAIRS, qualityGate },
    orchestrator: {
      cron: e.OUTERLOOP_LOOP_CRON === 'off' ? null : e.OUTERLOOP_LOOP_CRON,
      minNewPairs: e.OUTERLOOP_LOOP_MIN_NEW_PAIRS,
      leaseMs: e.OUTERLOOP_LOOP_LEASE_MS,
      stuckAfterSeconds: e.OUTERLOOP_LOOP_STUCK_AFTER_S,
      rmMinHeldoutAccuracy: qualityGate.heldOutAccuracy?.min ?? 0,
      heldoutFraction: e.OUTERLOOP_LOOP_HELDOUT_FRACTION,
      rmEnsemble: e.OUTERLOOP_LOOP_RM_ENSEMBLE,
      ppoSteps: e.OUTERLOOP_LOOP_PPO_STEPS,
      ppoBatchSize: e.OUTERLOOP_LOOP_PPO_BATCH_SIZE ?? null,
      ppoLearningRate: e.OUTERLOOP_LOOP_PPO_LEARNING_RATE ?? null,
      minRlPrompts: e.OUTERLOOP_LOOP_MIN_RL_PROMPTS,
      ppoCheckpointEvery: Math.max(1, Math.floor(e.OUTERLOOP_LOOP_PPO_STEPS / 4)),
      evaluationSuites: e.OUTERLOOP_LOOP_EVAL_SUITES.split(',').map((x) => x.trim()).filter(Boolean),
      canary: {
        weight: e.OUTERLOOP_CANARY_WEIGHT,
        alpha: e.OUTERLOOP_CANARY_ALPHA,
        minSamples: e.OUTERLOOP_CANARY_MIN_SAMPLES,
        maxSamples: e.OUTERLOOP_CANARY_MAX_SAMPLES,
        timeLimitMs: e.OUTERLOOP_CANARY_TIME_LIMIT_MS,
        pollMs: e.OUTERLOOP_CANARY_POLL_MS,
      },
    },
  };
}

/** Which variable sets which rule of the RM quality gate. */
const RM_GATE_VARIABLES = {
  'heldOutAccuracy.min': 'OUTERLOOP_RM_GATE_MIN_ACCURACY',
  'heldOutAccuracy.minLower': 'OUTERLOOP_RM_GATE_MIN_ACCURACY_LOWER',
  'ece.max': 'OUTERLOOP_RM_GATE_MAX_ECE',
  'lengthCorrelation.max': 'OUTERLOOP_RM_GATE_MAX_LENGTH_CORRELATION',
  'agreementWithPrevious.min': 'OUTERLOOP_RM_GATE_MIN_AGREEMENT',
  'hardPairs.minAccuracy': 'OUTERLOOP_RM_GATE_MIN_HARD_PAIR_ACCURACY',
  'hardPairs.minDeltaVsPrevious': 'OUTERLOOP_RM_GATE_MIN_HARD_PAIR_DELTA',
} as const satisfies Record<string, keyof Env>;

/** The OUTERLOOP_RM_GATE_* variables as a validated quality-gate configuration; problems go to `issues`, naming the variables. */
function rmQualityGateOf(e: Env, issues: string[]): RmQualityGateConfig {
  const gate: Record<string, Record<string, number>> = {};
  for (const [rule, variable] of Object.entries(RM_GATE_VARIABLES)) {
    const value = e[variable];
    if (value === 'off') continue;
    const [group, key] = rule.split('.') as [string, string];
    (gate[group] ??= {})[key] = value;
  }
  try {
    return parseRmQualityGate(gate, 'OUTERLOOP_RM_GATE_*');
  } catch (err) {
    if (!(err instanceof RmQualityGateConfigError)) throw err;
    issues.push(...err.problems);
    return {};
  }
}

/** OUTERLOOP_TEST_* belong to the test suite (tests/infra/.env), not to the application. */
const NOT_CONFIGURATION = /^OUTERLOOP_TEST_/;

export interface UnknownVariable {
  name: string;
  /** the known variable it most likely meant, when one is close */
  closest: string | null;
}

/** OUTERLOOP_* variables the schema does not read: a misspelling would otherwise be silently ignored. */
export function unknownVariables(env: Record<string, string | undefined> = process.env): UnknownVariable[] {
  const known = Object.keys(EnvSchema.shape);
  return Object.keys(env)
    .filter((name) => name.startsWith('OUTERLOOP_') && !known.includes(name) && !NOT_CONFIGURATION.test(name))
    .sort()
    .map((name) => {
      let closest: string | null = null;
      let best = Infinity;
      for (const k of known) {
        const d = editDistance(name, k);
        if (d < best) [best, closest] = [d, k];
      }
      // a third of the name's length: catches typos and near-misses, not unrelated names
      return { name, closest: best <= Math.max(2, Math.floor((name.length - 'OUTERLOOP_'.length) / 3)) ? closest : null };
    });
}
