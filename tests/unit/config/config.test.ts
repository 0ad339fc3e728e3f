import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/config/config.js';

test('defaults: embedded mode, all roles, SQLite under the data dir, localhost', () => {
  const c = loadConfig({}, false);
  assert.equal(c.mode, 'embedded');
  assert.deepEqual(c.roles, ['gateway', 'ingest', 'trainer', 'evaluator', 'orchestrator']);
  assert.deepEqual(c.database, { type: 'better-sqlite3', path: '.outerloop/outerloop.sqlite' });
  assert.deepEqual(c.bus, { type: 'embedded' });
  assert.equal(c.http.host, '127.0.0.1');
  assert.equal(c.log.format, 'json');
  assert.equal(c.runMigrations, true);
});

test('distributed mode needs Postgres and Kafka, and names both variables', () => {
  assert.throws(
    () => loadConfig({ OUTERLOOP_MODE: 'distributed' }, false),
    (e: unknown) => e instanceof ConfigError && /OUTERLOOP_DATABASE_URL/.test(e.message) && /OUTERLOOP_KAFKA_BROKERS/.test(e.message),
  );
  const c = loadConfig(
    { OUTERLOOP_MODE: 'distributed', OUTERLOOP_DATABASE_URL: 'postgres://u:p@db:5432/o', OUTERLOOP_KAFKA_BROKERS: 'k1:9092, k2:9092' },
    false,
  );
  assert.deepEqual(c.bus, { type: 'kafka', brokers: ['k1:9092', 'k2:9092'], clientId: 'outerloop' });
  assert.equal(c.runMigrations, false);
});

test('a bad value names the variable and what is wrong', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ OUTERLOOP_MODE: 'cloud' }, /OUTERLOOP_MODE="cloud"/],
    [{ OUTERLOOP_PORT: '70000' }, /OUTERLOOP_PORT="70000"/],
    [{ OUTERLOOP_PORT: 'eighty' }, /OUTERLOOP_PORT/],
    [{ OUTERLOOP_ROLES: 'gateway,trainr' }, /OUTERLOOP_ROLES.*unknown role "trainr"/],
    [{ OUTERLOOP_MODE: 'distributed', OUTERLOOP_DATABASE_URL: 'postgres://x/y', OUTERLOOP_KAFKA_BROKERS: 'nohost' }, /OUTERLOOP_KAFKA_BROKERS.*not host:port/],
    [{ OUTERLOOP_DATABASE_URL: 'mysql://x/y' }, /OUTERLOOP_DATABASE_URL/],
  ];
  for (const [env, re] of cases) {
    assert.throws(() => loadConfig(env, false), (e: unknown) => e instanceof ConfigError && re.test(e.message), JSON.stringify(env));
  }
});

test('empty strings count as unset', () => {
  assert.equal(loadConfig({ OUTERLOOP_PORT: '' }, false).http.port, 8080);
});

test('OUTERLOOP_GATEWAY_BEST_OF_N: N:VERSION turns best-of-n serving on; a bad value names the variable', () => {
  assert.equal(loadConfig({}, false).gateway.bestOfN, null);
  assert.deepEqual(loadConfig({ OUTERLOOP_GATEWAY_BEST_OF_N: '4:reward-0123:a' }, false).gateway.bestOfN, { n: 4, rewardModelVersion: 'reward-0123:a' });
  for (const bad of ['4', '1:reward-x', '33:reward-x', 'four:reward-x', '4:']) {
    assert.throws(() => loadConfig({ OUTERLOOP_GATEWAY_BEST_OF_N: bad }, false), (e: unknown) => e instanceof ConfigError && /OUTERLOOP_GATEWAY_BEST_OF_N/.test(e.message) && /N:REWARD_MODEL_VERSION/.test(e.message), bad);
  }
});

test('the RM quality gate: defaults, thresholds from OUTERLOOP_RM_GATE_*, `off` drops a rule, bad values name the variable', () => {
  const defaults = loadConfig({}, false).rewardModel;
  // held-out accuracy, and the style-perturbed hard-pairs rule: never lose to the previous production RM
  assert.deepEqual(defaults.qualityGate, { heldOutAccuracy: { min: 0.55 }, hardPairs: { minAccuracy: 0.5, minDeltaVsPrevious: 0 } });
  assert.equal(defaults.minPairs, 50);
  const c = loadConfig({
    OUTERLOOP_RM_GATE_MIN_ACCURACY: '0.7', OUTERLOOP_RM_GATE_MIN_ACCURACY_LOWER: '0.6', OUTERLOOP_RM_GATE_MAX_ECE: '0.1',
    OUTERLOOP_RM_GATE_MAX_LENGTH_CORRELATION: '0.2', OUTERLOOP_RM_GATE_MIN_AGREEMENT: '0.5', OUTERLOOP_RM_GATE_MIN_HARD_PAIR_ACCURACY: '0.6',
    OUTERLOOP_RM_GATE_MIN_HARD_PAIR_DELTA: '-0.05', OUTERLOOP_RM_MIN_PAIRS: '200',
  }, false);
  assert.deepEqual(c.rewardModel.qualityGate, {
    heldOutAccuracy: { min: 0.7, minLower: 0.6 }, ece: { max: 0.1 }, lengthCorrelation: { max: 0.2 }, agreementWithPrevious: { min: 0.5 },
    hardPairs: { minAccuracy: 0.6, minDeltaVsPrevious: -0.05 },
  });
  assert.equal(c.rewardModel.minPairs, 200);
  assert.equal(c.orchestrator.rmMinHeldoutAccuracy, 0.7, 'the loop reads the same threshold');
  assert.deepEqual(loadConfig({ OUTERLOOP_RM_GATE_MIN_ACCURACY: 'off' }, false).rewardModel.qualityGate, { hardPairs: { minAccuracy: 0.5, minDeltaVsPrevious: 0 } });
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ OUTERLOOP_RM_GATE_MIN_ACCURACY: '1.5' }, /OUTERLOOP_RM_GATE_MIN_ACCURACY="1.5"/],
    [{ OUTERLOOP_RM_GATE_MAX_LENGTH_CORRELATION: 'high' }, /OUTERLOOP_RM_GATE_MAX_LENGTH_CORRELATION="high"/],
    [{ OUTERLOOP_RM_MIN_PAIRS: '0' }, /OUTERLOOP_RM_MIN_PAIRS="0"/],
    [{ OUTERLOOP_RM_GATE_MIN_ACCURACY: 'off', OUTERLOOP_RM_GATE_MIN_HARD_PAIR_DELTA: 'off', OUTERLOOP_RM_GATE_MIN_HARD_PAIR_ACCURACY: 'off' }, /OUTERLOOP_RM_GATE_\*: sets no threshold/],
  ];
  for (const [env, re] of cases) {
    assert.throws(() => loadConfig(env, false), (e: unknown) => e instanceof ConfigError && re.test(e.message), JSON.stringify(env));
  }
});

test('the evaluator\'s KL budget and the loop\'s PPO learning rate: unset by default, numbers when set, bad values name the variable', () => {
  const defaults = loadConfig({}, false);
  assert.equal(defaults.evaluator.klBudget, null);
  assert.equal(defaults.orchestrator.ppoLearningRate, null);
  const set = loadConfig({ OUTERLOOP_EVAL_KL_BUDGET: '10', OUTERLOOP_LOOP_PPO_LEARNING_RATE: '2e-5' }, false);
  assert.equal(set.evaluator.klBudget, 10);
  assert.equal(set.orchestrator.ppoLearningRate, 2e-5);
  for (const [name, bad] of [['OUTERLOOP_EVAL_KL_BUDGET', '0'], ['OUTERLOOP_EVAL_KL_BUDGET', 'lots'], ['OUTERLOOP_LOOP_PPO_LEARNING_RATE', '-1']] as const) {
    assert.throws(() => loadConfig({ [name]: bad }, false), (e: unknown) => e instanceof ConfigError && e.message.includes(name), `${name}=${bad}`);
  }
});
