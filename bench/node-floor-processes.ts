// Why: bench/node-floor.ts runs as three processes that must start in order (the replicas listen
// before the coordinator connects to them) and stop completely before anything else takes their
// ports. redis-compare and the floor's own test both start it; this is the one place that knows how.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';

export interface NodeFloorOptions {
  /** The coordinator's RESP port, then the two replicas' ports. */
  readonly ports: readonly [number, number, number];
  /** With a directory, the durable floor: each process logs to a file of its own there. */
  readonly logDirectory?: string;
}

export interface RunningNodeFloor {
  readonly respPort: number;
  /** Coordinator, then the replicas (for CPU accounting). */
  readonly pids: ReadonlyArray<number | undefined>;
  /** Each process's log file, in the order of `pids` (empty without a log directory). */
  readonly logs: readonly string[];
  /** Stops every process and waits for each to exit. */
  stop(): Promise<void>;
}

const script = join(import.meta.dirname, 'node-floor.ts');

export async function startNodeFloor(options: NodeFloorOptions): Promise<RunningNodeFloor> {
  const [respPort, ...peerPorts] = options.ports;
  const logOf = (name: string): string =>
    options.logDirectory === undefined ? '' : join(options.logDirectory, `${name}.log`);
  const logs =
    options.logDirectory === undefined
      ? []
      : [logOf('coordinator'), ...peerPorts.map((port) => logOf(`replica-${port}`))];
  const start = (args: readonly string[], log: string): ChildProcess =>
    spawn(process.execPath, ['--import', 'tsx', script, ...args, ...(log === '' ? [] : [`--log=${log}`])], {
      stdio: 'inherit',
    });
  const children = peerPorts.map((port) => start(['replica', String(port)], logOf(`replica-${port}`)));
  const stop = async (): Promise<void> => {
    await Promise.all(children.map(stopped));
  };
  try {
    for (const port of peerPorts) await listening(port);
    children.unshift(start(['coordinator', String(respPort), ...peerPorts.map(String)], logOf('coordinator')));
    await listening(respPort);
  } catch (error) {
    await stop();
    throw error;
  }
  return { respPort, pids: children.map((child) => child.pid), logs, stop };
}

/** Resolves once something accepts TCP connections on the loopback port; throws after ~10 s. */
export async function listening(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (accepted) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listens on port ${port}`);
}

/** Sends SIGTERM and resolves once the process has exited (at once if it already had). */
export function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
