// Why: the HTTP and RESP listeners over TLS (decision 0026), in one process: plaintext and garbage
// are counted as failed handshakes and closed; an address past its share of unfinished handshakes is
// refused at once while the oldest are kept; and closing a listener cuts unfinished handshakes
// instead of waiting out their deadline (a node's stop must not hang on a silent client).
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { startHttpServer } from '../../../src/api/http/server.ts';
import { startRespServer } from '../../../src/api/resp/index.ts';
import type { TlsListenerOptions } from '../../../src/api/tls-listener.ts';
import { FakeKvService } from '../../support/fake-kv-service.ts';
import { createTestCa, missingOpenssl } from '../../support/test-ca.ts';
import { testNeeding } from '../../support/environment.ts';
import { waitFor } from '../../support/transport-fixtures.ts';

const missing = missingOpenssl();
const ca = missing === undefined ? createTestCa('listener') : undefined;
after(() => ca?.remove());
const bounded = { timeout: 30_000 };
const silentLogger = pino({ level: 'silent' });

function tlsOptions(overrides: Partial<TlsListenerOptions> = {}): TlsListenerOptions {
  const issued = (ca as NonNullable<typeof ca>).issue('listener');
  return {
    cert: readFileSync(issued.certFile),
    key: readFileSync(issued.keyFile),
    handshakeTimeoutMs: 30_000,
    ...overrides,
  };
}

/** Opens a TCP connection and resolves once it is up. */
function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.on('error', reject);
  });
}

const closed = (socket: Socket): Promise<void> =>
  new Promise((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));

const starters = {
  http: (tls: TlsListenerOptions) =>
    startHttpServer({ service: new FakeKvService(), host: '127.0.0.1', port: 0, tls, logger: silentLogger }),
  resp: (tls: TlsListenerOptions) =>
    startRespServer({ service: new FakeKvService(), host: '127.0.0.1', port: 0, tls, logger: silentLogger }),
};

for (const [name, start] of Object.entries(starters)) {
  testNeeding(
    missing,
    `${name} over TLS: plaintext is a failed handshake; past its share an address is refused at once; close() cuts unfinished handshakes`,
    bounded,
    async () => {
      const server = await start(tlsOptions({ handshakesPendingPerAddressMax: 2 }));
      const port = server.address.port;
      const stats = server.tlsStats as NonNullable<typeof server.tlsStats>;
      const plaintext = await open(port);
      plaintext.on('error', () => undefined);
      plaintext.write(name === 'http' ? 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' : 'PING\r\n');
      await closed(plaintext);
      await waitFor(() => stats.failed === 1, 5000, 'the plaintext handshake counted as failed');
      const silent = [await open(port), await open(port)];
      const third = await open(port);
      third.on('error', () => undefined);
      await closed(third);
      assert.equal(stats.refusedAddressFull, 1, 'the third unfinished handshake from one address is refused');
      assert.ok(
        silent.every((socket) => !socket.closed),
        'the first two are kept until their deadline',
      );
      const startedMs = performance.now();
      await server.close();
      await Promise.all(silent.map(closed));
      assert.ok(
        performance.now() - startedMs < 5000,
        `close() did not wait for the 30 s handshake deadline (took ${Math.round(performance.now() - startedMs)} ms)`,
      );
    },
  );
}
