#!/usr/bin/env node
// The test runner (plain JS, runs the compiled tests in dist/):
//   node tests/run.mjs unit|integration|e2e|all
// - finds dist/tests/<suite>/**/*.test.js and runs them with `node --test`:
//   unit files in parallel, integration and e2e files one at a time (they share the
//   Kafka broker and the PostgreSQL server, and each starts child processes);
// - loads tests/infra/.env (written by tests/infra/up.sh) into the environment
//   unless a variable is already set;
// - streams the spec output, prints how many integration tests ran against Kafka and
//   against PostgreSQL, and exits non-zero on any failure.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SUITES = ['unit', 'integration', 'e2e'];
const REPORTER = join(ROOT, 'tests', 'infra', 'service-count-reporter.mjs');

function loadEnvFile(path) {
  if (!existsSync(path)) return [];
  const loaded = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    const [, name, rawValue] = m;
    if (process.env[name] !== undefined && process.env[name] !== '') continue;
    process.env[name] = rawValue.trim().replace(/^(['"])(.*)\1$/, '$2');
    loaded.push(name);
  }
  return loaded;
}

function findTests(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(path));
    else if (entry.isFile() && entry.name.endsWith('.test.js')) out.push(path);
  }
  return out.sort();
}

function runNodeTest(files, concurrency, countsFile, defaultLimitMin) {
  const args = [
    '--test',
    // end each test file once its tests are done, even if a leaked handle (a socket, a
    // timer) would keep it alive: one leak must not hang CI
    '--test-force-exit',
    `--test-concurrency=${concurrency}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${REPORTER}`,
    `--test-reporter-destination=${countsFile}`,
    ...files,
  ];
  // a watchdog for the whole suite: CI must end with a verdict, not hang
  const limitMin = Number(process.env.OUTERLOOP_TEST_SUITE_TIMEOUT_MIN ?? defaultLimitMin);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: 'inherit', env: process.env });
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const watchdog = setTimeout(() => {
      console.error(`\n*** suite exceeded ${limitMin} min (OUTERLOOP_TEST_SUITE_TIMEOUT_MIN); killing it`);
      child.kill('SIGKILL');
    }, limitMin * 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(watchdog);
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(signal ? 1 : (code ?? 1));
    });
  });
}

function tally(countsFile) {
  const t = { total: { pass: 0, fail: 0, skip: 0, todo: 0 }, kafka: { pass: 0, fail: 0, skip: 0, todo: 0 }, postgres: { pass: 0, fail: 0, skip: 0, todo: 0 } };
  if (!existsSync(countsFile)) return t;
  for (const line of readFileSync(countsFile, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    t.total[r.status]++;
    for (const s of r.services) if (t[s]) t[s][r.status]++;
  }
  return t;
}

const fmt = (c) => `${c.pass + c.fail} ran (${c.pass} passed, ${c.fail} failed), ${c.skip} skipped`;

async function runSuite(suite, scratch) {
  const files = findTests(join(ROOT, 'dist', 'tests', suite));
  console.log(`\n=== ${suite}: ${files.length} test file(s) ===`);
  if (files.length === 0) {
    console.log(`(no dist/tests/${suite}/**/*.test.js — build first: npx tsc -p .)`);
    return { suite, code: 0, counts: tally('') };
  }
  const parallel = suite === 'unit' ? Math.max(1, availableParallelism()) : 1;
  const countsFile = join(scratch, `${suite}.jsonl`);
  const started = Date.now();
  // e2e measured: 840 s in a CI run; without the loop file, 12 min under a 4-worker CPU hog
  // on 2 cores; the loop file alone 11–12 min, and up to its canaries' time limit when a
  // candidate's gain is small — so 25 min could kill a green run
  const code = await runNodeTest(files.map((f) => relative(ROOT, f)), parallel, countsFile, suite === 'e2e' ? 60 : 25);
  const counts = tally(countsFile);
  console.log(`=== ${suite}: ${fmt(counts.total)} in ${((Date.now() - started) / 1000).toFixed(1)} s — exit ${code} ===`);
  return { suite, code, counts };
}

async function main() {
  const which = process.argv[2] ?? 'all';
  const suites = which === 'all' ? SUITES : [which];
  if (!suites.every((s) => SUITES.includes(s))) {
    console.error(`usage: node tests/run.mjs ${[...SUITES, 'all'].join('|')}`);
    process.exit(2);
  }
  const loaded = loadEnvFile(join(ROOT, 'tests', 'infra', '.env'));
  if (loaded.length) console.log(`loaded tests/infra/.env: ${loaded.join(', ')}`);
  const scratch = mkdtempSync(join(tmpdir(), 'outerloop-run-'));
  const started = Date.now();
  const results = [];
  try {
    for (const suite of suites) results.push(await runSuite(suite, scratch));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log('\n=== summary ===');
  for (const r of results) console.log(`${r.suite.padEnd(12)} ${fmt(r.counts.total)}${r.code ? `  (node --test exit ${r.code})` : ''}`);
  const integration = results.find((r) => r.suite === 'integration');
  if (integration) {
    // tagged [kafka] / [postgres] / [kafka+postgres]; a [kafka+postgres] test counts for both
    console.log(`integration tests against Kafka:      ${fmt(integration.counts.kafka)}`);
    console.log(`integration tests against PostgreSQL: ${fmt(integration.counts.postgres)}`);
  }
  console.log(`total duration: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const failed = results.filter((r) => r.code !== 0 || r.counts.total.fail > 0);
  if (failed.length) {
    console.log(`FAILED: ${failed.map((r) => r.suite).join(', ')}`);
    process.exit(1);
  }
}

await main();
