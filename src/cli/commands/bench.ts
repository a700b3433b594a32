// Why: `everwrite bench` is the project's first load benchmark: closed-loop HTTP load against a local
// cluster it starts itself (or a running one with --target), printing throughput and latency
// percentiles, or one JSON object with --json. This file only declares the flags; parsing and
// validation live in cli/bench/options.ts, the run in cli/bench/run.ts.
import type { Command } from 'commander';
import { benchDefaults, resolveBenchOptions, type BenchFlags } from '../bench/options.ts';
import { runBench, type BenchIo } from '../bench/run.ts';
import type { BenchResult } from '../bench/report.ts';

export type { BenchResult } from '../bench/report.ts';
export type { BenchFlags, BenchOptions } from '../bench/options.ts';

const processBenchIo: BenchIo = Object.freeze({ stdout: process.stdout, stderr: process.stderr });

/** Validates the flags and runs the bench; the entry point for the command and for scripts. */
export async function runBenchCommand(flags: BenchFlags, io: BenchIo = processBenchIo): Promise<BenchResult> {
  return runBench(resolveBenchOptions(flags), io);
}

export function registerBenchCommand(program: Command): void {
  const defaults = benchDefaults;
  program
    .command('bench')
    .description('HTTP load benchmark: closed-loop GET/PUT workers against a local cluster it starts (or --target), printing throughput and latency percentiles')
    .option('--nodes <count>', `nodes of the local cluster the bench starts (default ${defaults.nodes})`)
    .option('--clients <count>', `concurrent closed-loop workers, spread round-robin over the nodes (default ${defaults.clients})`)
    .option('--duration <seconds>', `length of the measured run (default ${defaults.durationSeconds})`)
    .option('--value-size <bytes>', `size of each written value (default ${defaults.valueBytes})`)
    .option('--ratio <reads:writes>', `share of reads and writes (default ${defaults.ratio})`)
    .option('--keys <count>', `distinct keys, drawn uniformly (default ${defaults.keys})`)
    .option('--preload <count>', `keys written before the run, so early reads find values (default ${defaults.preloadKeys})`)
    .option('--engine <engine>', `storage engine of the local cluster: lmdb, level or memory (default ${defaults.engine})`)
    .option('--durability <mode>', `bench bucket durability: durable or buffered (default ${defaults.durability})`)
    .option('--resolver <resolver>', `bench bucket resolver: lww or siblings; blind writes under siblings pile up siblings (default ${defaults.resolver})`)
    .option('--n <replicas>', `bench bucket N (default ${defaults.n})`)
    .option('--r <replicas>', `bench bucket R (default ${defaults.r})`)
    .option('--w <replicas>', `bench bucket W (default ${defaults.w})`)
    .option('--target <urls>', 'HTTP base URLs of a running cluster, comma-separated, instead of starting one')
    .option('--bucket <name>', `bucket the bench reads and writes (default ${defaults.bucket})`)
    .option('--request-timeout <ms>', `a request unanswered this long is aborted and counted as an error (default ${defaults.requestTimeoutMs})`)
    .option('--http-client <client>', `node-http (keep-alive Agent) or fetch (default ${defaults.httpClient})`)
    .option('--seed <number>', `seed of key/operation choices and value bytes (default ${defaults.seed})`)
    .option('--peer-port-base <port>', `local cluster: node i listens for peers on this + i (default ${defaults.peerPortBase})`)
    .option('--http-port-base <port>', `local cluster: node i serves HTTP on this + i (default ${defaults.httpPortBase})`)
    .option('--json', 'print one JSON object with the settings and every figure')
    .option('--no-progress', 'no progress bar (it is also off when stderr is not a terminal)')
    .action(async (flags: BenchFlags) => {
      await runBenchCommand(flags);
    });
}
