// Why: `everwrite bench` is the project's measuring instrument: YCSB's core workloads over HTTP,
// RESP or the TypeScript client, against a local cluster it starts itself (or a running one with
// --target), closed-loop or at a target rate, printing throughput, errors by code and latency
// percentiles per operation as a table or JSON, and plotting latency over time as SVG. This file
// only declares the flags; parsing and validation live in cli/bench/options.ts, the run in
// cli/bench/run.ts.
import type { Command } from 'commander';
import { benchDefaults, resolveBenchOptions, type BenchFlags } from '../bench/options.ts';
import { runBench, type BenchIo } from '../bench/run.ts';
import type { BenchResult } from '../bench/report.ts';

export type { BenchResult } from '../bench/report.ts';
export type { BenchFlags, BenchOptions } from '../bench/options.ts';

const processBenchIo: BenchIo = Object.freeze({ stdout: process.stdout, stderr: process.stderr });

/**
 * Validates the flags and runs the bench; the entry point for the command and for scripts. A
 * --target's credentials come from `environment` (EVERWRITE_TOKEN, or EVERWRITE_USER and
 * EVERWRITE_PASSWORD), never from a flag.
 */
export async function runBenchCommand(
  flags: BenchFlags,
  io: BenchIo = processBenchIo,
  environment: NodeJS.ProcessEnv = process.env,
): Promise<BenchResult> {
  return runBench(resolveBenchOptions(flags), io, environment);
}

export function registerBenchCommand(program: Command): void {
  const defaults = benchDefaults;
  program
    .command('bench')
    .description(
      'YCSB-style load benchmark: load phase, then run phase of workload A, B, C, D, F or W over HTTP, RESP or the client, printing throughput, errors by code and latency percentiles per operation',
    )
    .option(
      '--workload <name>',
      `YCSB core workload: A (50% read, 50% update), B (95/5), C (read only), D (read latest, 5% inserts), F (read-modify-write), W (write only) (default ${defaults.workload})`,
    )
    .option(
      '--distribution <name>',
      "key choice: uniform, zipfian (theta 0.99) or latest (default: the workload's, latest for D, zipfian for the rest)",
    )
    .option(
      '--records <count>',
      `records written by the load phase and chosen from by the run (default ${defaults.records})`,
    )
    .option('--no-load', 'skip the load phase (a --target cluster loaded by an earlier run)')
    .option('--protocol <name>', `http, resp, or client (the TypeScript client) (default ${defaults.protocol})`)
    .option(
      '--routing <routing>',
      `with --protocol client: server (any node coordinates) or client (straight to a primary) (default ${defaults.routing})`,
    )
    .option('--nodes <count>', `nodes of the local cluster the bench starts (default ${defaults.nodes})`)
    .option(
      '--clients <count>',
      `closed loop: concurrent clients, spread round-robin over the nodes; with --rate: most requests in flight (default ${defaults.clients})`,
    )
    .option(
      '--rate <ops-per-second>',
      'open loop: send at this rate whatever the answers, latency counted from when each operation was due (default: closed loop)',
    )
    .option('--duration <seconds>', `length of the run phase (default ${defaults.durationSeconds})`)
    .option('--value-size <bytes>', `size of each written value (default ${defaults.valueBytes})`)
    .option(
      '--engine <engine>',
      `storage engine of the local cluster: lmdb, level or memory (default ${defaults.engine})`,
    )
    .option('--durability <mode>', `bench bucket durability: durable or buffered (default ${defaults.durability})`)
    .option(
      '--resolver <resolver>',
      `bench bucket resolver: lww or siblings; blind writes under siblings pile up siblings (default ${defaults.resolver})`,
    )
    .option('--n <replicas>', `bench bucket N (default ${defaults.n})`)
    .option('--r <replicas>', `bench bucket R (default ${defaults.r})`)
    .option('--w <replicas>', `bench bucket W (default ${defaults.w})`)
    .option(
      '--target <urls>',
      'http(s) base URLs of a running cluster, comma-separated, instead of starting one; credentials from EVERWRITE_USER and EVERWRITE_PASSWORD or EVERWRITE_TOKEN, https trusting --ca',
    )
    .option(
      '--resp-target <addresses>',
      "with --target and --protocol resp: the nodes' RESP addresses, HOST:PORT comma-separated",
    )
    .option(
      '--bucket <name>',
      `bucket the bench reads and writes over HTTP and the client; RESP uses the front end's bucket redis (default ${defaults.bucket})`,
    )
    .option(
      '--request-timeout <ms>',
      `a request unanswered this long is aborted and counted as an error (default ${defaults.requestTimeoutMs})`,
    )
    .option('--http-client <client>', `node-http (keep-alive Agent) or fetch (default ${defaults.httpClient})`)
    .option('--seed <number>', `seed of key and operation choices and of the value bytes (default ${defaults.seed})`)
    .option(
      '--peer-port-base <port>',
      `local cluster: node i listens for peers on this + i (default ${defaults.peerPortBase})`,
    )
    .option(
      '--http-port-base <port>',
      `local cluster: node i serves HTTP on this + i (default ${defaults.httpPortBase})`,
    )
    .option(
      '--resp-port-base <port>',
      `local cluster: node i serves RESP on this + i (default ${defaults.respPortBase})`,
    )
    .option('--json', 'print one JSON object with the settings, every figure and the timeline')
    .option('--svg <file>', 'also write an SVG plot of throughput and latency over time to this file')
    .option('--no-progress', 'no progress bar (it is also off when stderr is not a terminal)')
    .action(async (flags: BenchFlags) => {
      await runBenchCommand(flags);
    });
}
