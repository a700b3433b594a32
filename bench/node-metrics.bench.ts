// Why: every coordinated operation now tells the node's metrics (decision 0022): a prom-client
// histogram observe through a cached label child and a record into the dashboard's live window,
// and every RESP command a counter and a histogram observe. This measures what that adds per
// operation, in isolation, so the request path's cost of being observable is a number, not a guess.
//   node --import tsx bench/node-metrics.bench.ts [operations=1000000] [rounds=5]
import { performance } from 'node:perf_hooks';
import { NodeMetrics } from '../src/server/node-metrics.ts';
import { RespMetrics } from '../src/api/resp/metrics.ts';

const operations = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 5);
const metrics = new NodeMetrics();
const resp = new RespMetrics(metrics.registry);
const okReply = 'OK';
/** Latencies as a node sees them: mostly sub-millisecond, a tail to tens of ms. */
const latenciesSeconds = Array.from({ length: 1024 }, (_, index) =>
  index % 100 === 0 ? 0.02 : 0.0002 + (index % 7) * 0.0001,
);

function timeNsPerCall(call: (index: number) => void): number {
  const start = performance.now();
  for (let index = 0; index < operations; index++) call(index);
  return ((performance.now() - start) * 1e6) / operations;
}

const rows: Array<{ round: number; operationNs: number; readNs: number; respNs: number }> = [];
for (let round = 1; round <= rounds; round++) {
  const operationNs = timeNsPerCall((index) =>
    metrics.operationFinished(index % 2 === 0 ? 'get' : 'put', 'ok', latenciesSeconds[index & 1023] as number),
  );
  const readNs = timeNsPerCall((index) => metrics.readAnswered(1 + (index % 3 === 0 ? 1 : 0), 3));
  const respNs = timeNsPerCall((index) =>
    resp.record(index % 2 === 0 ? 'get' : 'set', okReply, latenciesSeconds[index & 1023] as number),
  );
  rows.push({ round, operationNs, readNs, respNs });
}
console.log(`${operations} calls per figure, ns per call:`);
console.log('round  operationFinished  readAnswered  resp.record');
for (const row of rows)
  console.log(
    `${String(row.round).padStart(5)}  ${row.operationNs.toFixed(0).padStart(17)}  ${row.readNs.toFixed(0).padStart(12)}  ${row.respNs.toFixed(0).padStart(11)}`,
  );
