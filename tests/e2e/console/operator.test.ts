// The console's operator views in a real browser (Debian's chromium, playwright-core)
// against `outerloop start` with keys required. A gate decision is made for real first:
// `outerloop eval` runs the shipped base policy against a damaged copy of it (the
// evaluator's own test fixture), writing both gates' decisions and the report's charts
// into the instance's database and artifact store. Then an admin key sees the decision
// with every rule and the charts; a chat-only key is told it needs the admin scope.
// Screenshots land in dist/test-output/console/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { BASE_POLICY_DIR, writeNeverStoppingArtifact } from '../../unit/services/evaluator/damaged-policy.js';
import { getStatus, mainJs, repoRoot, startOuterloop, waitFor, type RunningProcess } from '../support/process.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any;

const CHROMIUM = process.env.OUTERLOOP_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(repoRoot, 'dist', 'test-output', 'console');

function requireChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (tests/infra/chromium.sh installs Debian's chromium)`);
  return false;
}

function cli(dataDir: string, args: string[]): string {
  const run = spawnSync(process.execPath, [mainJs, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', OUTERLOOP_DATA_DIR: dataDir, OUTERLOOP_LOG_LEVEL: 'error' },
    encoding: 'utf8',
    timeout: 600_000,
  });
  assert.equal(run.status, 0, `outerloop ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

function createKey(dataDir: string, name: string, scopes: string): string {
  const out = cli(dataDir, ['keys', 'create', '--name', name, '--scopes', scopes]);
  const key = /secret \(shown once, store it now\): (\S+)/.exec(out)?.[1];
  assert.ok(key, out);
  return key;
}

async function openWithKey(browser: Browser, url: string, key: string, viewport = { width: 1280, height: 900 }): Promise<Page & { errors: string[] }> {
  const page = (await browser.newPage({ viewport })) as Page & { errors: string[] };
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(m.text());
  });
  // the key goes where the key dialog puts it (session storage), before the page's script runs
  await page.addInitScript((k: string) => sessionStorage.setItem('outerloop.apiKey', k), key);
  await page.goto(`${url}/console`);
  await page.waitForSelector('body[data-ready=true]');
  return page;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const sessionStorage: any;

describe('web console: operator views', { timeout: 900_000 }, () => {
  let browser: Browser | null = null;
  let proc: RunningProcess | null = null;
  let dataDir = '';
  let adminKey = '';
  let chatKey = '';
  let evaluationId = '';
  const scratch = mkdtempSync(join(tmpdir(), 'outerloop-console-operator-'));

  before(async () => {
    if (!requireChromium()) return;
    mkdirSync(SHOTS, { recursive: true });
    dataDir = join(scratch, 'data');
    proc = await startOuterloop(['start'], { OUTERLOOP_DATA_DIR: dataDir, OUTERLOOP_LOG_LEVEL: 'warn', OUTERLOOP_GATEWAY_AUTH: 'required', OUTERLOOP_LOOP_CRON: 'off' }); // no iteration starts by itself
    await waitFor('/readyz 200', async () => ((await getStatus(`${proc!.url}/readyz`)) === 200 ? true : undefined), 180_000, proc.output);
    adminKey = createKey(dataDir, 'console-admin', 'chat,admin'); // an operator's key: the served models need chat
    chatKey = createKey(dataDir, 'console-chat', 'chat,feedback');
    const damagedDir = join(scratch, 'never-stops');
    await writeNeverStoppingArtifact(damagedDir);
    const out = cli(dataDir, ['eval', '--candidate', damagedDir, '--incumbent', BASE_POLICY_DIR, '--seeds', '1', '--max-tokens', '40']);
    evaluationId = /evaluation (eval-[0-9a-f]{24})/.exec(out)?.[1] ?? '';
    assert.ok(evaluationId, out);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  });

  after(async () => {
    await browser?.close();
    await proc?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('the admin endpoint lists the decisions; a chat key is refused', async (t) => {
    if (!proc) return t.skip('chromium is not installed');
    const ok = await fetch(`${proc.url}/v1/admin/gate-decisions?limit=10`, { headers: { authorization: `Bearer ${adminKey}` } });
    assert.equal(ok.status, 200);
    const { data } = (await ok.json()) as { data: { evaluationId: string; policyName: string; rules: unknown[] }[] };
    assert.deepEqual(data.map((d) => d.evaluationId), [evaluationId, evaluationId]);
    assert.deepEqual(data.map((d) => d.policyName).sort(), ['default', 'naive'], 'the configured gate (REFERENCE_GATE_POLICY, named default) and the naive one');
    assert.equal((await fetch(`${proc.url}/v1/admin/gate-decisions`, { headers: { authorization: `Bearer ${chatKey}` } })).status, 403);
    assert.equal((await fetch(`${proc.url}/v1/admin/gate-decisions`)).status, 401);
    assert.equal((await fetch(`${proc.url}/v1/admin/gate-decisions?limit=0`, { headers: { authorization: `Bearer ${adminKey}` } })).status, 400);
  });

  test('an admin sees the gate decision: every rule, both gates side by side, and the charts', async (t) => {
    if (!browser || !proc) return t.skip('chromium is not installed');
    const page = await openWithKey(browser, proc.url, adminKey);
    await page.locator('#tab-gate').click();
    const card = page.locator(`article.decision[data-evaluation="${evaluationId}"]`);
    await card.waitFor();
    const captions = await card.locator('table.rules caption').allTextContents();
    assert.equal(captions.length, 2, 'the configured gate and the naive gate');
    assert.match(captions[0]!, /default/);
    assert.match(captions[1]!, /naive/);
    // the damaged policy never stops talking: the configured gate fails it, naming rules with values and thresholds
    assert.match(captions[0]!, /Fail/);
    const reference = card.locator('table.rules').first();
    const ruleRows = reference.locator('tbody tr');
    assert.ok((await ruleRows.count()) >= 3);
    const failing = reference.locator('tbody tr', { has: page.locator('.verdict.fail') });
    assert.ok((await failing.count()) >= 1, 'at least one failing rule is shown');
    const cells = await failing.first().locator('td').allTextContents();
    assert.match(cells[1]!, /^-?\d/, 'the rule shows its value');
    assert.match(cells[3]!, /[<>=]=? -?\d|true|false/, 'the rule shows its threshold');
    await page.screenshot({ path: join(SHOTS, 'gate-decisions.png'), fullPage: true });

    await card.locator('[data-action=report]').click();
    const chart = card.locator('img[data-chart]').first();
    await chart.waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll('img[data-chart]')].every((i: { complete: boolean; naturalWidth: number }) => i.complete && i.naturalWidth > 0));
    assert.match((await chart.getAttribute('src')) ?? '', /^blob:/, 'the chart is the SVG fetched with the key');
    assert.match((await card.locator('pre.report').textContent()) ?? '', new RegExp(evaluationId));
    await card.locator('details summary').click();
    await page.screenshot({ path: join(SHOTS, 'gate-report.png'), fullPage: true });
    assert.deepEqual(page.errors, []);
  });

  test('an admin sees the deployment and the policy versions with their lineage', async (t) => {
    if (!browser || !proc) return t.skip('chromium is not installed');
    const overview = await fetch(`${proc.url}/v1/admin/deployment-overview`, { headers: { authorization: `Bearer ${adminKey}` } });
    assert.equal(overview.status, 200);
    const { deployment, policies } = (await overview.json()) as { deployment: { productionModelId: string } | null; policies: { id: string; status: string }[] };
    assert.equal((await fetch(`${proc.url}/v1/admin/deployment-overview`, { headers: { authorization: `Bearer ${chatKey}` } })).status, 403);
    const page = await openWithKey(browser, proc.url, adminKey);
    await page.locator('#tab-models').click();
    await page.locator('table.versions').waitFor();
    // the two versions `outerloop eval` registered (candidate and incumbent) are listed with their status
    assert.ok(policies.length >= 2);
    for (const p of policies) {
      assert.equal(await page.locator(`tr[data-version="${p.id}"] .status`).textContent(), p.status);
    }
    if (deployment) assert.match((await page.locator('.deployment').textContent()) ?? '', new RegExp(deployment.productionModelId));
    await page.locator('#model-list li').first().waitFor();
    // the lineage of the production version, from the orchestrator's lineage endpoint
    const production = policies.find((p) => p.status === 'production')!;
    await page.locator(`tr[data-version="${production.id}"] [data-action=lineage]`).click();
    await page.waitForFunction(() => document.querySelector('#version-lineage-body dl') !== null);
    const lineageText = (await page.locator('#version-lineage-body').textContent()) ?? '';
    assert.match(lineageText, new RegExp(`${production.id} production`));
    assert.match(lineageText, /not made by the loop/, 'the base policy came from no iteration');
    await page.screenshot({ path: join(SHOTS, 'models.png'), fullPage: true });
    assert.deepEqual(page.errors, []);
  });

  test('a key without the admin scope is told so, and can enter another', async (t) => {
    if (!browser || !proc) return t.skip('chromium is not installed');
    const page = await openWithKey(browser, proc.url, chatKey);
    await page.locator('#tab-gate').click();
    const refused = page.locator('#gate-list .refused');
    await refused.waitFor();
    assert.match((await refused.textContent()) ?? '', /needs the admin scope/);
    await page.screenshot({ path: join(SHOTS, 'gate-refused.png'), fullPage: true });
    await refused.locator('button').click();
    await page.locator('#key-dialog[open]').waitFor();
    await page.locator('#key-input').fill(adminKey);
    await page.locator('#key-input').press('Enter');
    await page.locator(`article.decision[data-evaluation="${evaluationId}"]`).waitFor();
  });

  test('Loop view on the real orchestrator: pause, a refused trigger shown in the dialog, resume', async (t) => {
    if (!browser || !proc) return t.skip('chromium is not installed');
    const page = await openWithKey(browser, proc.url, adminKey);
    const answers: string[] = [];
    page.on('response', (r) => {
      if (r.request().method() === 'POST' && r.url().includes('/v1/admin/loop/')) answers.push(`${new URL(r.url()).pathname} ${r.status()}`);
    });
    await page.locator('#tab-loop').click();
    await page.waitForFunction(() => !/Loading/.test(document.getElementById('loop-list').textContent));
    assert.match((await page.locator('#loop-list').textContent()) ?? '', /No iteration yet/);

    await page.locator('#loop-pause').click();
    await page.locator('#confirm-dialog[open]').waitFor();
    await page.locator('#confirm-ok').click();
    await page.waitForFunction(() => !document.getElementById('confirm-dialog').open);

    // paused: the orchestrator refuses a trigger (409) and the dialog says why
    await page.locator('#loop-trigger').click();
    await page.locator('#confirm-ok').click();
    await page.waitForFunction(() => document.getElementById('confirm-error').textContent.length > 0);
    // (the orchestrator's own reason is lost on the way: the gateway's error filter answers
    // "Conflict Exception" for it — reported; the page still says what kind of refusal it is)
    assert.match((await page.locator('#confirm-error').textContent()) ?? '', /^Refused in the loop's current state: /);
    await page.screenshot({ path: join(SHOTS, 'loop-refused.png') });
    await page.locator('#confirm-cancel').click();

    await page.locator('#loop-resume').click();
    await page.locator('#confirm-ok').click();
    await page.waitForFunction(() => !document.getElementById('confirm-dialog').open);
    await waitFor('the resume answer', async () => (answers.length === 3 ? true : undefined), 30_000);
    assert.deepEqual(answers, ['/v1/admin/loop/pause 200', '/v1/admin/loop/iterations 409', '/v1/admin/loop/resume 200']);
    await page.screenshot({ path: join(SHOTS, 'loop.png'), fullPage: true });
    assert.deepEqual(page.errors.filter((e) => !/status of 409/.test(e)), []);
  });

  // A gate waiting for review needs a whole iteration (RM, PPO, evaluation) — too heavy for
  // this test: the iteration is given by the test in the API's shape (LoopIterationRecord),
  // which pins the page's side: the timeline, and that an approval goes out once, after the
  // confirmation, with its body.
  test('loop actions ask for confirmation and send one request (the API answered by the test, in its documented shape)', async (t) => {
    if (!browser || !proc) return t.skip('chromium is not installed');
    const page = await openWithKey(browser, proc.url, adminKey);
    const t0 = Date.parse('2026-11-29T01:00:00Z');
    const at = (min: number) => new Date(t0 + min * 60_000).toISOString();
    const iteration = {
      id: 'it-0001', state: 'gate', trigger: 'manual', candidateModelId: 'policy-candidate', rewardModelId: 'rm-1', error: null,
      stateHistory: [{ state: 'snapshot', at: at(0) }, { state: 'train_rm', at: at(1) }, { state: 'rm_gate', at: at(9) }, { state: 'rl', at: at(10) }, { state: 'evaluate', at: at(40) }, { state: 'gate', at: at(52), detail: 'needs_review' }],
      steps: { gate: { outputs: { verdict: 'needs_review', evaluationId: evaluationId }, finishedAt: at(53) } },
      createdAt: at(0), updatedAt: at(53),
    };
    const posts: { url: string; body: string | null }[] = [];
    await page.route('**/v1/admin/loop/**', async (route) => {
      const request = route.request();
      if (request.method() === 'GET') return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ data: [iteration] }) });
      posts.push({ url: request.url(), body: request.postData() });
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ ...iteration, state: 'canary' }) });
    });
    await page.locator('#tab-loop').click();
    const card = page.locator('article.iteration[data-iteration=it-0001]');
    await card.waitFor();
    const timeline = (await card.locator('.timeline').textContent()) ?? '';
    assert.match(timeline, /train_rm 01:01:00 · 8 min/, 'each state with the time spent in it');
    assert.match(timeline, /rl 01:10:00 · 30 min/);
    await page.screenshot({ path: join(SHOTS, 'loop-review.png'), fullPage: true });

    // Escape cancels: nothing is sent
    await card.locator('[data-action=approve]').focus();
    await page.keyboard.press('Enter');
    await page.locator('#confirm-dialog[open]').waitFor();
    assert.match((await page.locator('#confirm-text').textContent()) ?? '', /Approve .*policy-candidate/);
    await page.screenshot({ path: join(SHOTS, 'loop-confirm.png') });
    // the key goes to what has focus: put it inside the modal first (once in a CI run the
    // Escape pressed right after the screenshot reached no dialog and it stayed open)
    await page.locator('#confirm-cancel').focus();
    await page.waitForFunction(() => document.getElementById('confirm-dialog').contains(document.activeElement));
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => !document.getElementById('confirm-dialog').open);
    assert.equal(posts.length, 0);

    // confirmed with the keyboard: one POST with the body the API documents
    await card.locator('[data-action=approve]').focus();
    await page.keyboard.press('Enter');
    await page.locator('#confirm-dialog[open]').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'confirm-ok', 'focus lands on Confirm');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !document.getElementById('confirm-dialog').open);
    assert.deepEqual(posts, [{ url: `${proc.url}/v1/admin/loop/iterations/it-0001/approve`, body: JSON.stringify({ by: 'console' }) }]);
    assert.deepEqual(page.errors, []);
  });

  test('pin on the real orchestrator: asked with a reason, and the deployment shows it', async (t) => {
    if (!browser || !proc) return t.skip('chromium is not installed');
    const page = await openWithKey(browser, proc.url, adminKey);
    await page.locator('#tab-models').click();
    const pin = page.locator('tr:has(.status.production) [data-action=pin]');
    await pin.waitFor();
    assert.equal(await page.locator('tr:has(.status.candidate) [data-action=pin]').count(), 0, 'only production or retired versions can be pinned');
    await pin.click();
    await page.locator('#confirm-dialog[open]').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'confirm-reason');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('hold for the demo');
    await page.screenshot({ path: join(SHOTS, 'pin-confirm.png') });
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !document.getElementById('confirm-dialog').open);
    await page.waitForFunction(() => /hold for the demo/.test(document.querySelector('.deployment')?.textContent ?? ''));
    const { deployment } = (await (await fetch(`${proc.url}/v1/admin/deployment-overview`, { headers: { authorization: `Bearer ${adminKey}` } })).json()) as { deployment: { id: string; reason: string } };
    assert.match(deployment.id, /^pin:/);
    assert.match(deployment.reason, /hold for the demo/);
    assert.deepEqual(page.errors, []);
  });

  test('keyboard only, at phone width: reach the gate view and open the charts', async (t) => {
    if (!browser || !proc) return t.skip('chromium is not installed');
    const page = await openWithKey(browser, proc.url, adminKey, { width: 390, height: 844 });
    const focusOn = async (selector: string) => {
      for (let i = 0; i < 40; i++) {
        if (await page.evaluate((s: string) => document.activeElement?.matches(s) === true, selector)) return;
        await page.keyboard.press('Shift+Tab');
      }
      assert.fail(`${selector} is not reachable with the keyboard`);
    };
    await focusOn('#tab-gate');
    await page.keyboard.press('Enter');
    await page.locator('article.decision').first().waitFor();
    for (let i = 0; i < 40; i++) {
      if (await page.evaluate(() => document.activeElement?.getAttribute('data-action') === 'report')) break;
      await page.keyboard.press('Tab');
    }
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-action')), 'report', 'the report button is reachable with Tab');
    await page.keyboard.press('Enter');
    await page.locator('img[data-chart]').first().waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-expanded')), 'true');
    await page.screenshot({ path: join(SHOTS, 'gate-phone.png'), fullPage: true });
  });
});
