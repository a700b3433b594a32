// Why: once users exist (decision 0025) the dashboard at / is an admin route like the rest; it must
// still work for an admin, through the browser's own Basic login (the 401 carries WWW-Authenticate),
// and stay shut to everyone else. This drives Debian's chromium (playwright-core) at one real node:
// no credentials get the 401, a user without admin gets 403, an admin gets the page, its live data
// and its key browser with no console error. Skipped without /usr/bin/chromium, failed under CI=true.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { ClusterFixture, request } from '../support/cluster-fixture.ts';
import { testNeeding } from '../support/environment.ts';

const chromiumPath = '/usr/bin/chromium';
const admin = { username: 'dash-admin', password: 'dash-admin-password' };
const reader = { username: 'dash-reader', password: 'dash-reader-password' };

function basic(credentials: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

testNeeding(
  existsSync(chromiumPath)
    ? undefined
    : `no browser at ${chromiumPath} (install Debian's chromium package; .ci/run does)`,
  'with users, the dashboard asks the browser to log in, refuses a non-admin and works for an admin',
  { timeout: 120_000 },
  async (t) => {
    const fixture = await ClusterFixture.start({ name: 'dashboard-auth', engine: 'memory', nodes: 1, partitions: 8 });
    t.after(() => fixture.stop());
    const url = fixture.url(1);
    const made = await request(`${url}/admin/users/${admin.username}`, {
      method: 'PUT',
      body: JSON.stringify({ roles: ['admin'], password: admin.password }),
    });
    assert.equal(made.status, 200, made.text);
    const readerMade = await request(`${url}/admin/users/${reader.username}`, {
      method: 'PUT',
      headers: { authorization: basic(admin) },
      body: JSON.stringify({ roles: ['read'], password: reader.password }),
    });
    assert.equal(readerMade.status, 200, readerMade.text);
    const written = await request(`${url}/buckets/default/keys/greeting`, {
      method: 'PUT',
      headers: { authorization: basic(admin), 'content-type': 'text/plain' },
      body: 'hello',
    });
    assert.equal(written.status, 204, written.text);

    const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'], timeout: 30_000 });
    t.after(() => browser.close());

    // What the browser gets before it logs in: the challenge that makes it show its login prompt
    // (headless chromium without credentials to give fails the navigation instead of showing it).
    const refused = await request(`${url}/`);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /Basic realm="everwrite"/);

    const readerContext = await browser.newContext({ httpCredentials: reader });
    assert.equal(
      (await (await readerContext.newPage()).goto(`${url}/`))?.status(),
      403,
      'a user without admin does not get the dashboard',
    );

    const adminContext = await browser.newContext({ httpCredentials: admin, viewport: { width: 1400, height: 1000 } });
    const page = await adminContext.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
    page.setDefaultTimeout(15_000);
    assert.equal((await page.goto(`${url}/`))?.status(), 200);
    await page.waitForSelector('#members tr[data-member="n1"][data-state="up"]');
    await page.fill('#key-bucket', 'default');
    await page.fill('#key-key', 'greeting');
    await page.click('#key-form button');
    await page.waitForSelector('#key-result .sibling pre');
    assert.deepEqual(await page.locator('#key-result .sibling pre').allTextContents(), ['hello']);
    assert.deepEqual(consoleErrors, [], 'the page logs no error: every request it makes carries the login');
  },
);
