// Why: every HTTP test needs the same things: a server on 127.0.0.1 port 0 over the fake service,
// a captured log, and a raw socket for what fetch cannot express (chunked uploads, Expect, broken
// HTTP). Kept here so each test reads as its behaviour. Not a test file itself (no .test.ts).
import { connect } from 'node:net';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { startHttpServer } from '../../../../src/api/http/server.ts';
import type { HttpServerHandle, HttpServerOptions } from '../../../../src/api/http/server.ts';
import { FakeKvService } from '../../../support/fake-kv-service.ts';
import type { FakeKvServiceOptions } from '../../../support/fake-kv-service.ts';

export interface Harness {
  readonly fake: FakeKvService;
  readonly server: HttpServerHandle;
  readonly base: string;
  readonly port: number;
  /** Log records the server wrote, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export function capturingLogger(logs: Array<Record<string, unknown>>): Logger {
  return pino(
    { level: 'info' },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
}

type HarnessOptions = Partial<Omit<HttpServerOptions, 'service' | 'host' | 'port' | 'logger'>> & {
  readonly fake?: FakeKvServiceOptions;
};

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const { fake: fakeOptions, ...serverOptions } = options;
  const fake = new FakeKvService(fakeOptions ?? { nowMs: () => Date.UTC(2025, 0, 2, 3, 4, 5, 678) });
  const logs: Array<Record<string, unknown>> = [];
  const server = await startHttpServer({
    ...serverOptions,
    service: fake,
    host: '127.0.0.1',
    port: 0,
    logger: capturingLogger(logs),
  });
  const base = `http://127.0.0.1:${server.address.port}`;
  return { fake, server, base, port: server.address.port, logs, close: () => server.close() };
}

/** Runs `body` against a fresh server over the fake service; closes the server whatever the outcome. */
export async function withHarness(
  body: (harness: Harness) => Promise<void>,
  options: HarnessOptions = {},
): Promise<void> {
  const harness = await startHarness(options);
  try {
    await body(harness);
  } finally {
    await harness.close();
  }
}

export interface RawExchange {
  /** Everything the server sent, as latin1 text. */
  readonly received: string;
  /** Whether the server closed the connection before the deadline. */
  readonly closedByServer: boolean;
}

/**
 * Opens one TCP connection, writes `parts` one after another (waiting `pauseMs` between them and
 * stopping early once `stopWhen` matches what came back), then waits for the server to close or
 * for `deadlineMs`. Returns what came back and how many parts were written.
 */
export function rawExchange(
  port: number,
  parts: readonly string[],
  options: { readonly pauseMs?: number; readonly stopWhen?: RegExp; readonly deadlineMs?: number } = {},
): Promise<RawExchange & { readonly partsWritten: number }> {
  const { pauseMs = 0, stopWhen, deadlineMs = 2000 } = options;
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    let partsWritten = 0;
    let closedByServer = false;
    const deadline = setTimeout(() => socket.destroy(), deadlineMs);
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('end', () => (closedByServer = true));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(deadline);
      resolve({ received, closedByServer, partsWritten });
    });
    socket.on('connect', () => {
      const writeNext = (): void => {
        if (partsWritten >= parts.length || socket.destroyed || (stopWhen !== undefined && stopWhen.test(received)))
          return;
        socket.write(parts[partsWritten] as string);
        partsWritten += 1;
        setTimeout(writeNext, pauseMs);
      };
      writeNext();
    });
  });
}
