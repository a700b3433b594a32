// Why: the dashboard is only useful if it works in a real browser against real nodes. This drives
// Debian's chromium (playwright-core, which downloads no browser) at a 3-process cluster: the page
// loads with no console error, shows every member up, shows a node killed with -9 as not up within
// the failure-detection bound, highlights a key's preference list, and its key browser shows the
// two siblings two concurrent writes made (one of them markup, shown as text). Screenshots are kept under test-results/dashboard/ (the
// path is printed). Without /usr/bin/chromium the test skips with the reason, except under CI=true,
// where a missing browser is a failure (CI installs it: .ci/run).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ClusterFixture } from '../support/cluster-fixture.ts';

const chromiumPath = '/usr/bin/chromium';
/** The bound decision 0014 documents for the default settings, with slack for a loaded two-core machine (as test/integration/liveness.test.ts). */
const killDetectionMsMax = 10_000;
const screenshotDirectory = resolve('test-results', 'dashboard');
const browserMissing = existsSync(chromiumPath)
  ? undefined
  : `no browser at ${chromiumPath} (install Debian's chromium package; .ci/run does)`;

if (browserMissing !== undefined && process.env.CI === 'true') {
  test('the dashboard browser test has a browser', () => assert.fail(`CI=true and ${browserMissing}`));
}

let fixture: ClusterFixture | undefined;
let browser: Browser | undefined;

before(
  async () => {
    if (browserMissing !== undefined) return;
    // Peers on 32501-32503, HTTP on 33501-33503, RESP on 32601-32603.
    fixture = await ClusterFixture.start({ name: 'dashboard' });
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'], timeout: 30_000 });
  },
  { timeout: 90_000 },
);

after(
  async () => {
    await browser?.close();
    await fixture?.stop();
  },
  { timeout: 30_000 },
);

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDirectory, { recursive: true });
  const path = join(screenshotDirectory, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`# screenshot: ${path}`);
}

async function memberState(page: Page, member: string): Promise<string | null> {
  return page.locator(`#members tr[data-member="${member}"]`).getAttribute('data-state', { timeout: 2000 });
}

test(
  'the dashboard shows every member, a killed node as not up, a preference list and two siblings, with no console error',
  { timeout: 120_000, skip: browserMissing },
  async () => {
    const cluster = fixture as ClusterFixture;
    await cluster.allSeeAllUp();
    const page = await (browser as Browser).newPage({ viewport: { width: 1400, height: 1000 } });
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
    page.setDefaultTimeout(15_000);

    await page.goto(`${cluster.url(1)}/`);
    await page.waitForSelector('#members tr[data-member="n3"][data-state="up"]');
    for (const member of ['n1', 'n2', 'n3']) assert.equal(await memberState(page, member), 'up', `${member} shown up`);
    assert.equal(await page.locator('#ring path').count(), 256, 'one arc per partition');
    assert.equal(await page.locator('#node-id').textContent(), 'n1');

    // Two blind writes through two coordinators: concurrent versions of one key.
    assert.equal((await cluster.put(1, 'default', 'twins', 'left')).status, 204);
    // One value is markup: the page must show it as text, never make it an element.
    const markup = '<img id="injected" src="/nowhere" onerror="document.title=1">';
    assert.equal((await cluster.put(2, 'default', 'twins', markup)).status, 204);
    await page.fill('#key-bucket', 'default');
    await page.fill('#key-key', 'twins');
    await page.click('#key-form button');
    await page.waitForSelector('#key-result [data-siblings="2"]');
    const shown = await page.locator('#key-result .sibling pre').allTextContents();
    assert.deepEqual([...shown].sort(), [markup, 'left']);
    assert.equal(await page.locator('#injected').count(), 0, 'a value is never markup');
    assert.ok(((await page.locator('#key-context').textContent()) ?? '').length > 10, 'the context is shown');

    await page.fill('#placement-bucket', 'default');
    await page.fill('#placement-key', 'twins');
    await page.click('#placement-form button');
    await page.waitForSelector('#preference-list li');
    assert.equal(await page.locator('#preference-list li[data-role="primary"]').count(), 3);
    assert.equal(await page.locator('#ring path.highlight').count(), 1, "the key's partition is highlighted");
    await page.waitForSelector('#charts h3[data-operation="put"]');
    await screenshot(page, 'healthy-with-siblings');

    await cluster.kill(3);
    const killedAtMs = performance.now();
    await page.waitForSelector('#members tr[data-member="n3"]:not([data-state="up"])', {
      timeout: killDetectionMsMax + 2000,
    });
    const notUpAfterMs = performance.now() - killedAtMs;
    assert.ok(notUpAfterMs <= killDetectionMsMax, `n3 shown not up after ${Math.round(notUpAfterMs)} ms`);
    await page.waitForSelector('#members tr[data-member="n3"][data-state="down"]', { timeout: killDetectionMsMax });
    for (const member of ['n1', 'n2']) assert.equal(await memberState(page, member), 'up');
    await screenshot(page, 'killed-node');
    console.log(`# n3 shown not up ${Math.round(notUpAfterMs)} ms after kill -9`);

    assert.deepEqual(consoleErrors, [], 'no console error');
    await page.close();
  },
);
