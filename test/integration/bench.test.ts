// Why: one short real run of `everwrite bench` as a user starts it: its own 3-node cluster as
// separate processes, the load phase then workload A over HTTP, and the same cluster setup over
// RESP and the client with client routing; every run must finish by itself with operations done,
// no errors, and every node process stopped. Bounded: 2 s runs. `everwrite bench` takes port bases,
// not ports, so each run gets bases over a block of free ports (test/support/free-port.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runBenchCommand } from '../../src/cli/commands/bench.ts';
import { freePortBases } from '../support/free-port.ts';

function quietIo() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: {
      stdout: { write: (chunk: string) => (out.stdout += chunk) },
      stderr: Object.assign(Object.create(process.stderr) as NodeJS.WriteStream, {
        isTTY: false,
        write: (chunk: string) => ((out.stderr += chunk), true),
      }),
    },
  };
}

for (const [protocol, extra] of [
  ['http', {}],
  ['resp', {}],
  ['client', { routing: 'client' }],
] as const) {
  test(
    `everwrite bench --nodes 3 runs workload A over ${protocol} on its own cluster and stops it`,
    { timeout: 90_000 },
    async () => {
      const { out, io } = quietIo();
      const bases = await freePortBases(3);
      const ports = {
        peerPortBase: String(bases.peer),
        httpPortBase: String(bases.http),
        respPortBase: String(bases.resp),
      };
      const result = await runBenchCommand(
        {
          nodes: '3',
          engine: 'memory',
          workload: 'A',
          protocol,
          ...extra,
          duration: '2',
          clients: '8',
          records: '200',
          valueSize: '100',
          progress: false,
          json: true,
          ...ports,
        },
        io,
      );
      assert.deepEqual(result.load, { records: 200, seconds: result.load?.seconds, errors: 0 });
      assert.ok(
        (result.operations['read']?.ok ?? 0) > 20 && (result.operations['update']?.ok ?? 0) > 20,
        JSON.stringify(result.operations),
      );
      // Every record was loaded, so no read finds its key absent.
      assert.equal(result.operations['read']?.notFound, 0);
      assert.equal(result.errors.total, 0, JSON.stringify(result.errors));
      assert.ok(result.latencyMs.all.p99Ms > 0 && result.latencyMs.all.p99Ms <= result.latencyMs.all.maxMs);
      assert.ok((result.cpu?.nodesSeconds ?? 0) > 0, 'the nodes were measured');
      assert.equal(JSON.parse(out.stdout).settings.protocol, protocol);
      assert.equal([...out.stderr.matchAll(/starting 3 memory nodes/g)].length, 1);
      // The bench stopped its nodes: none of their HTTP ports answers any more.
      for (const port of [1, 2, 3].map((index) => bases.http + index)) {
        await assert.rejects(
          fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) }),
          `node on ${port} still answers`,
        );
      }
    },
  );
}
