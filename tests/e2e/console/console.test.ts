// The web console in a real browser: Debian's chromium driven by playwright-core
// against `outerloop start` (embedded: every role, SQLite). Each feedback click must end
// as a row in feedback_events with the right values — read from the database the
// ingest role writes — and the same click twice must be one event.
// Screenshots of each view land in dist/test-output/console/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { chromium, type Browser, type Page } from 'playwright-core';
import { mainJs, repoRoot, startOuterloop, waitFor, getStatus, type RunningProcess } from '../support/process.js';

// Browser-side callbacks run in the page; the test itself is compiled without the DOM's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any, sessionStorage: any;

const CHROMIUM = process.env.OUTERLOOP_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(repoRoot, 'dist', 'test-output', 'console');
const READY_MS = 180_000;
const ROW_MS = 60_000;

interface FeedbackRow {
  id: string;
  completion_id: string;
  type: string;
  value: number | null;
  other_completion_id: string | null;
  edited_response: string | null;
}

function requireChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (tests/infra/chromium.sh installs Debian's chromium)`);
  return false;
}

class Instance {
  private db: Database.Database | null = null;
  constructor(
    readonly proc: RunningProcess,
    readonly dataDir: string,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<Instance> {
    const dataDir = mkdtempSync(join(tmpdir(), 'outerloop-console-'));
    const proc = await startOuterloop(['start'], { OUTERLOOP_DATA_DIR: dataDir, OUTERLOOP_LOG_LEVEL: 'warn', ...env });
    await waitFor('/readyz 200', async () => ((await getStatus(`${proc.url}/readyz`)) === 200 ? true : undefined), READY_MS, proc.output);
    return new Instance(proc, dataDir);
  }

  rows(where: string, ...args: unknown[]): FeedbackRow[] {
    this.db ??= new Database(join(this.dataDir, 'outerloop.sqlite'), { readonly: true, fileMustExist: true });
    return this.db.prepare(`SELECT id, completion_id, type, value, other_completion_id, edited_response FROM feedback_events WHERE ${where}`).all(...args) as FeedbackRow[];
  }

  /** Waits until the ingest role has written rows matching `where`. */
  async waitRows(what: string, where: string, ...args: unknown[]): Promise<FeedbackRow[]> {
    return waitFor(what, async () => {
      const r = this.rows(where, ...args);
      return r.length ? r : undefined;
    }, ROW_MS, this.proc.output);
  }

  async stop(): Promise<void> {
    this.db?.close();
    await this.proc.stop();
  }
}

async function openConsole(browser: Browser, inst: Instance, viewport = { width: 1100, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  (page as Page & { errors?: string[] }).errors = errors;
  await page.goto(`${inst.proc.url}/console`);
  await page.waitForSelector('body[data-ready=true]');
  return page;
}

/** Sends a prompt with the keyboard and waits for the turn's answers to finish. */
async function chat(page: Page, text: string): Promise<void> {
  const before = await page.locator('article.message.assistant').count();
  await page.locator('#prompt').fill(text);
  await page.locator('#prompt').press('Enter');
  await page.waitForFunction(
    (n: number) => {
      const done = [...document.querySelectorAll('article.message.assistant')].slice(n);
      return done.length > 0 && done.every((a: { getAttribute(name: string): string | null }) => a.getAttribute('aria-busy') === 'false');
    },
    before,
    { timeout: 120_000 },
  );
}

describe('web console', { timeout: 600_000 }, () => {
  let browser: Browser | null = null;
  let open: Instance | null = null;

  before(async () => {
    if (!requireChromium()) return;
    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    open = await Instance.start();
  });

  after(async () => {
    await browser?.close();
    await open?.stop();
  });

  test('serves the page with a strict CSP, ETag revalidation and gzip', async (t) => {
    if (!open) return t.skip('chromium is not installed');
    const page = await fetch(`${open.proc.url}/console`);
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const etag = page.headers.get('etag')!;
    assert.ok(etag);
    const again = await fetch(`${open.proc.url}/console/app.js`, { headers: { 'if-none-match': 'nope' } });
    assert.equal(again.status, 200);
    const revalidated = await fetch(`${open.proc.url}/console/app.js`, { headers: { 'if-none-match': again.headers.get('etag')! } });
    assert.equal(revalidated.status, 304);
    const gz = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{size_download} %{content_type}', '-H', 'accept-encoding: gzip', `${open.proc.url}/console/app.js`], { encoding: 'utf8' });
    if (gz.status === 0) assert.match(gz.stdout, /text\/javascript/);
    assert.equal((await fetch(`${open.proc.url}/console/nope.js`)).status, 404);
  });

  test('chat streams an answer; thumbs, rating, edit each land once as the right row', async (t) => {
    if (!browser || !open) return t.skip('chromium is not installed');
    const page = await openConsole(browser, open);
    let streamType = '';
    page.on('response', (r) => {
      if (r.url().endsWith('/v1/chat/completions')) streamType = r.headers()['content-type'] ?? '';
    });
    await chat(page, 'What is the capital of Velmora?');
    assert.match(streamType, /text\/event-stream/);
    const answer = page.locator('article.message.assistant').last();
    assert.ok(Number(await answer.getAttribute('data-chunks')) >= 2, 'the answer arrived as several stream deltas');
    assert.match((await answer.locator('.meta').textContent()) ?? '', /^model /);
    t.diagnostic(`time to first answer token in the page: ${await answer.getAttribute('data-first-token-ms')} ms`);
    const text = ((await answer.locator('.text').textContent()) ?? '').trim();
    assert.ok(text.length > 0);
    await page.screenshot({ path: join(SHOTS, 'chat.png'), fullPage: true });

    const thumbsUp = answer.locator('[data-feedback=thumbs-up]');
    await thumbsUp.dblclick(); // a double click is one event
    await answer.locator('.feedback-status[data-state=sent]').waitFor();
    const [thumb] = await open.waitRows('the thumbs-up row', "type = 'thumbs'");
    const completionId = thumb!.completion_id;
    assert.equal(thumb!.value, 1);

    await answer.locator('[data-feedback=rating-4]').click();
    await open.waitRows('the rating row', "type = 'rating' AND completion_id = ?", completionId);

    await answer.locator('[data-feedback=edit]').click();
    await answer.locator('.edit textarea').fill('A better answer.');
    await answer.locator('.edit button[type=submit]').click();
    await answer.locator('.edit button[type=submit]').click(); // the same correction twice is one event
    await open.waitRows('the edit row', "type = 'edit' AND completion_id = ?", completionId);
    await page.screenshot({ path: join(SHOTS, 'feedback.png'), fullPage: true });

    // Feedback for one completion is ordered on the bus (its key), so once the edit is in,
    // any duplicate of the earlier clicks would be in too.
    const rows = open.rows('completion_id = ?', completionId);
    assert.deepEqual(
      rows.map((r) => [r.type, r.value, r.edited_response]).sort(),
      [
        ['edit', null, 'A better answer.'],
        ['rating', 4, null],
        ['thumbs', 1, null],
      ],
    );
    assert.deepEqual((page as Page & { errors?: string[] }).errors, []);
  });

  test('compare mode shows two answers side by side and a vote is one pairwise row', async (t) => {
    if (!browser || !open) return t.skip('chromium is not installed');
    const page = await openConsole(browser, open);
    await page.locator('#compare').check();
    await chat(page, 'Tell me about Cora Vance.');
    const cards = page.locator('.turn.compare article.message.assistant');
    assert.equal(await cards.count(), 2);
    await page.screenshot({ path: join(SHOTS, 'compare.png'), fullPage: true });
    await page.locator('[data-feedback=vote-b]').click();
    await page.locator('[data-feedback=vote-b]').click();
    const [vote] = await open.waitRows('the pairwise row', "type = 'pairwise'");
    assert.equal(vote!.value, -1, 'B is better: the other completion wins');
    assert.ok(vote!.other_completion_id && vote!.other_completion_id !== vote!.completion_id);
    assert.equal(open.rows("type = 'pairwise'").length, 1);
  });

  test('keyboard only: type, send, and give a thumb without the mouse', async (t) => {
    if (!browser || !open) return t.skip('chromium is not installed');
    const page = await openConsole(browser, open, { width: 390, height: 844 }); // a phone-width screen
    const before = open.rows("type = 'thumbs' AND value = -1").length;
    await page.keyboard.type('How much does a skyloom cost?');
    await page.keyboard.press('Enter');
    await page.waitForSelector('article.message.assistant[aria-busy=false] [data-feedback=thumbs-down]', { timeout: 120_000 });
    // from the message box, Shift+Tab walks back through the last answer's controls
    let found = false;
    for (let i = 0; i < 20 && !found; i++) {
      await page.keyboard.press('Shift+Tab');
      found = await page.evaluate(() => document.activeElement?.getAttribute('data-feedback') === 'thumbs-down');
    }
    assert.ok(found, 'thumbs-down is reachable with the keyboard');
    await page.keyboard.press('Enter');
    await waitFor('the keyboard thumbs-down row', async () => (open!.rows("type = 'thumbs' AND value = -1").length > before ? true : undefined), ROW_MS);
    assert.equal(open.rows("type = 'thumbs' AND value = -1").length, before + 1);
    await page.screenshot({ path: join(SHOTS, 'phone.png'), fullPage: true });
  });

  test('with keys required, a wrong key is refused with a message and the right one works', async (t) => {
    if (!browser) return t.skip('chromium is not installed');
    const inst = await Instance.start({ OUTERLOOP_GATEWAY_AUTH: 'required' });
    try {
      const made = spawnSync(process.execPath, [mainJs, 'keys', 'create', '--name', 'console-test', '--scopes', 'chat,feedback'], {
        cwd: repoRoot,
        env: { PATH: process.env.PATH ?? '', OUTERLOOP_DATA_DIR: inst.dataDir, OUTERLOOP_LOG_LEVEL: 'error' },
        encoding: 'utf8',
      });
      assert.equal(made.status, 0, made.stderr);
      const key = /secret \(shown once, store it now\): (\S+)/.exec(made.stdout)?.[1];
      assert.ok(key, made.stdout);
      const page = await openConsole(browser, inst);
      await page.locator('#prompt').fill('Hello there');
      await page.locator('#prompt').press('Enter');
      await page.locator('#key-dialog[open]').waitFor();
      assert.match((await page.locator('#key-reason').textContent()) ?? '', /needs an API key/);
      await page.locator('#key-input').fill('wrong-key');
      await page.locator('#key-input').press('Enter');
      await page.waitForFunction(() => /refused/.test(document.getElementById('key-reason').textContent) && document.getElementById('key-dialog').open);
      await page.screenshot({ path: join(SHOTS, 'key-refused.png') });
      await page.locator('#key-input').fill(key);
      await page.locator('#key-input').press('Enter');
      await page.waitForSelector('article.message.assistant[aria-busy=false] [data-feedback=thumbs-up]', { timeout: 120_000 });
      assert.equal(await page.evaluate(() => sessionStorage.getItem('outerloop.apiKey')), key);
      assert.ok(!page.url().includes(key), 'the key never appears in a URL');
    } finally {
      await inst.stop();
    }
  });
});

