// Why: the dashboard's routes take input from any browser or script (docs/API.md): the key search's
// bucket and key must be checked like a key route's before the service is asked, a node without
// live statistics or a ring must say so with a code, and the page and its assets must come from
// this node alone (a Content-Security-Policy that forbids anything else).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeKvService } from '../../../support/fake-kv-service.ts';
import { startHttpServer } from '../../../../src/api/http/server.ts';
import type { KeyPlacementReport } from '../../../../src/runtime/service.ts';
import { capturingLogger } from './http-harness.ts';

class PlacingService extends FakeKvService {
  readonly asked: Array<{ bucket: string; key: string }> = [];

  placement(bucket: string, key: string): KeyPlacementReport {
    this.asked.push({ bucket, key });
    return {
      bucket,
      key,
      partition: 7,
      primaries: ['n1', 'n2'],
      targets: [
        { node: 'n1', role: 'primary' },
        { node: 'n3', role: 'fallback', standsInFor: 'n2' },
      ],
    };
  }
}

async function withServer(
  service: FakeKvService,
  liveStats: (() => unknown) | undefined,
  body: (base: string) => Promise<void>,
): Promise<void> {
  const server = await startHttpServer({
    service,
    host: '127.0.0.1',
    port: 0,
    logger: capturingLogger([]),
    ...(liveStats === undefined ? {} : { liveStats }),
  });
  try {
    await body(`http://127.0.0.1:${server.address.port}`);
  } finally {
    await server.close();
  }
}

async function expectCode(response: Response, status: number, code: string): Promise<void> {
  const body = (await response.json()) as { code: string; message: string };
  assert.equal(response.status, status, JSON.stringify(body));
  assert.equal(body.code, code);
}

test(
  'GET /admin/placement answers the service placement of a decoded bucket and key',
  { timeout: 10_000 },
  async () => {
    const service = new PlacingService();
    await withServer(service, undefined, async (base) => {
      const response = await fetch(
        `${base}/admin/placement?bucket=${encodeURIComponent('b/ü')}&key=${encodeURIComponent('k 1')}`,
      );
      assert.equal(response.status, 200);
      const body = (await response.json()) as KeyPlacementReport;
      assert.equal(body.partition, 7);
      assert.deepEqual(body.targets[1], { node: 'n3', role: 'fallback', standsInFor: 'n2' });
      assert.deepEqual(service.asked, [{ bucket: 'b/ü', key: 'k 1' }]);
    });
  },
);

test(
  'GET /admin/placement refuses missing, repeated, unknown, empty and oversized parameters before asking the service',
  { timeout: 10_000 },
  async () => {
    const service = new PlacingService();
    await withServer(service, undefined, async (base) => {
      await expectCode(await fetch(`${base}/admin/placement`), 400, 'EVERWRITE_BAD_REQUEST');
      await expectCode(await fetch(`${base}/admin/placement?bucket=b`), 400, 'EVERWRITE_BAD_REQUEST');
      await expectCode(await fetch(`${base}/admin/placement?bucket=b&key=k&key=j`), 400, 'EVERWRITE_BAD_REQUEST');
      await expectCode(await fetch(`${base}/admin/placement?bucket=b&key=k&n=3`), 400, 'EVERWRITE_BAD_REQUEST');
      await expectCode(await fetch(`${base}/admin/placement?bucket=&key=k`), 400, 'EVERWRITE_BAD_REQUEST');
      await expectCode(await fetch(`${base}/admin/placement?bucket=b&key=`), 400, 'EVERWRITE_BAD_REQUEST');
      await expectCode(
        await fetch(`${base}/admin/placement?bucket=b&key=${'k'.repeat(1025)}`),
        413,
        'EVERWRITE_KEY_TOO_LARGE',
      );
      await expectCode(
        await fetch(`${base}/admin/placement?bucket=${'b'.repeat(256)}&key=k`),
        400,
        'EVERWRITE_BAD_REQUEST',
      );
      await expectCode(
        await fetch(`${base}/admin/placement?bucket=b&key=k`, { method: 'POST' }),
        405,
        'EVERWRITE_METHOD_NOT_ALLOWED',
      );
      assert.deepEqual(service.asked, []);
    });
  },
);

test(
  'a service without placement and a server without live statistics answer 501 with a code',
  { timeout: 10_000 },
  async () => {
    await withServer(new FakeKvService(), undefined, async (base) => {
      await expectCode(await fetch(`${base}/admin/placement?bucket=b&key=k`), 501, 'EVERWRITE_NOT_IMPLEMENTED');
      await expectCode(await fetch(`${base}/admin/stats`), 501, 'EVERWRITE_NOT_IMPLEMENTED');
    });
    await withServer(
      new FakeKvService(),
      () => ({ windowSeconds: 60, operations: {} }),
      async (base) => {
        const response = await fetch(`${base}/admin/stats`);
        assert.equal(response.status, 200);
        assert.deepEqual(await response.json(), { windowSeconds: 60, operations: {} });
      },
    );
  },
);

test(
  'the dashboard page and its assets are served from this node under a self-only content policy',
  { timeout: 10_000 },
  async () => {
    await withServer(new FakeKvService(), undefined, async (base) => {
      const page = await fetch(`${base}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      const html = await page.text();
      for (const asset of ['/dashboard/dashboard.js', '/dashboard/dashboard.css']) {
        assert.ok(html.includes(asset), `the page loads ${asset}`);
        const response = await fetch(`${base}${asset}`);
        assert.equal(response.status, 200, asset);
        assert.ok((await response.text()).length > 100);
      }
      // Nothing from elsewhere: no absolute http(s) URL to another host in the page or its script.
      const script = await (await fetch(`${base}/dashboard/dashboard.js`)).text();
      assert.doesNotMatch(html + script, /(src|href)=["']https?:/);
      await expectCode(await fetch(`${base}/dashboard/other.js`), 404, 'EVERWRITE_NOT_FOUND');
      await expectCode(await fetch(`${base}/dashboard/dashboard.js.map`), 404, 'EVERWRITE_NOT_FOUND');
    });
  },
);
