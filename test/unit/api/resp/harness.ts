// Why: every RESP server test needs the same things: a server on 127.0.0.1 port 0 over the fake
// service, a captured log, and clients that are closed whatever the test's outcome. Not a test
// file itself (no .test.ts).
import { pino } from 'pino';
import type { Logger } from 'pino';
import { startRespServer } from '../../../../src/api/resp/index.ts';
import type { RespServerHandle, RespServerOptions } from '../../../../src/api/resp/index.ts';
import { FakeKvService } from '../../../support/fake-kv-service.ts';
import type { FakeKvServiceOptions } from '../../../support/fake-kv-service.ts';
import { RespTestClient } from '../../../support/resp-client.ts';

export interface RespHarness {
  readonly fake: FakeKvService;
  readonly server: RespServerHandle;
  readonly port: number;
  /** Log records the server wrote, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  /** A new client, closed by the harness at the end. */
  client(): Promise<RespTestClient>;
}

export type RespHarnessOptions = Partial<Omit<RespServerOptions, 'service' | 'host' | 'port' | 'logger'>> & {
  readonly fake?: FakeKvServiceOptions;
};

export function capturingLogger(logs: Array<Record<string, unknown>>): Logger {
  return pino(
    { level: 'info' },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
}

/** Runs `body` against a fresh server and fake; closes clients and server afterwards. */
export async function withResp(
  body: (harness: RespHarness) => Promise<void>,
  options: RespHarnessOptions = {},
): Promise<void> {
  const { fake: fakeOptions, ...serverOptions } = options;
  let clock = 1_000;
  const fake = new FakeKvService(fakeOptions ?? { nowMs: () => (clock += 1) });
  const logs: Array<Record<string, unknown>> = [];
  const server = await startRespServer({
    ...serverOptions,
    service: fake,
    host: '127.0.0.1',
    port: 0,
    logger: capturingLogger(logs),
  });
  const clients: RespTestClient[] = [];
  const harness: RespHarness = {
    fake,
    server,
    port: server.address.port,
    logs,
    client: async () => {
      const client = await RespTestClient.connect(server.address.port);
      clients.push(client);
      return client;
    },
  };
  try {
    await body(harness);
  } finally {
    for (const client of clients) client.close();
    await server.close();
  }
}
