// Why: a node-level test of "an acknowledged durable write survives power loss" needs a disk that
// really loses what was never fsynced; `kill -9` alone keeps the kernel's page cache. LazyMount runs
// test/support/lazyfs/lazyfs.py (a FUSE passthrough that holds unsynced writes in memory) over a
// backing directory and gives the test its three moves: mount, cut the power (drop everything
// unsynced; every later operation fails), and unmount. Mounting again over the same backing
// directory is the machine coming back: the kernel's page cache of the old mount went with it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface, type Interface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const scriptPath = fileURLToPath(new URL('./lazyfs/lazyfs.py', import.meta.url));
/** Debian's interpreter: it has python3-fusepy; a `python3` earlier on PATH may not. */
const pythonPath = '/usr/bin/python3';
const mountTimeoutMs = 10_000;
const commandTimeoutMs = 10_000;
const exitTimeoutMs = 10_000;

export interface LazyMountOptions {
  /** Directory that holds what reached the "disk". Created if missing. */
  readonly backing: string;
  /** Empty directory to mount over. Created if missing. */
  readonly mountpoint: string;
  /** Cap on unsynced bytes held in memory; a write past it fails with ENOSPC. Default 256 MiB. */
  readonly capBytes?: number;
}

/** What the filesystem held unsynced when asked (stats) or when the power was cut (dropped). */
export interface UnsyncedFigures {
  readonly files: number;
  readonly bytes: number;
}

/**
 * Why the lazy filesystem cannot run here, or undefined when it can: it needs root (mount(2)),
 * /dev/fuse, fusermount3 (package fuse3) and Debian's python3 with fusepy (python3-fusepy).
 */
export function lazyFsMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'the lazy filesystem needs root to mount FUSE';
  if (!existsSync('/dev/fuse')) return '/dev/fuse is missing (no FUSE in this kernel or container)';
  if (spawnSync('fusermount3', ['-V'], { timeout: 10_000 }).status !== 0)
    return 'fusermount3 is not installed (apt-get install -y fuse3)';
  const probe = spawnSync(pythonPath, ['-c', 'import fusepy'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status !== 0)
    return `${pythonPath} cannot import fusepy (apt-get install -y python3-fusepy): ${(probe.stderr ?? '').trim()}`;
  return undefined;
}

function parseFigures(answer: string, word: string): UnsyncedFigures {
  const match = new RegExp(`^${word} (\\d+) (\\d+)$`).exec(answer);
  if (match === null) throw new Error(`lazyfs answered "${answer}", expected "${word} <files> <bytes>"`);
  return { files: Number(match[1]), bytes: Number(match[2]) };
}

export class LazyMount {
  private child: ChildProcess | undefined;
  private lines: Interface | undefined;
  private readonly answers: string[] = [];
  private waiting: (() => void) | undefined;
  private errorOutput = '';

  private constructor(readonly options: LazyMountOptions) {}

  /** Mounts the lazy filesystem over `options.mountpoint`; resolves once the kernel has it. */
  static async mount(options: LazyMountOptions): Promise<LazyMount> {
    const mount = new LazyMount(options);
    await mount.mountAgain();
    return mount;
  }

  /** Mounts again over the same backing directory (after unmount): the machine powered back on. */
  async mountAgain(): Promise<void> {
    if (this.child !== undefined) throw new Error(`lazyfs already mounted on ${this.options.mountpoint}`);
    mkdirSync(this.options.backing, { recursive: true });
    mkdirSync(this.options.mountpoint, { recursive: true });
    const args = [scriptPath, '--backing', this.options.backing, '--mount', this.options.mountpoint];
    if (this.options.capBytes !== undefined) args.push('--cap-bytes', String(this.options.capBytes));
    const child = spawn(pythonPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    this.errorOutput = '';
    this.answers.length = 0;
    child.stderr?.on('data', (chunk: Buffer) => {
      this.errorOutput = `${this.errorOutput}${chunk.toString('utf8')}`.slice(-8192);
    });
    child.once('exit', () => this.waiting?.());
    this.lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    this.lines.on('line', (line) => {
      this.answers.push(line);
      this.waiting?.();
    });
    const ready = await this.nextAnswer(mountTimeoutMs);
    if (ready !== 'mounted') {
      await this.unmount();
      throw new Error(
        `lazyfs did not mount on ${this.options.mountpoint}: ${ready ?? 'no answer'}\n${this.errorOutput}`,
      );
    }
  }

  /** Unsynced files and bytes held now. */
  async stats(): Promise<UnsyncedFigures> {
    return parseFigures(await this.command('stats'), 'pending');
  }

  /** Cuts the power: drops every unsynced byte; every later operation on the mount fails (EIO). */
  async cutPower(): Promise<UnsyncedFigures> {
    return parseFigures(await this.command('cut'), 'cut');
  }

  /**
   * Cuts the power at the start of the next sync of a file holding unsynced data, before any of it
   * persists: the instant a write acknowledged before its sync is lost. If no such sync comes within
   * `timeoutMs`, cuts it then. Returns what was dropped and whether a sync set it off.
   */
  async cutPowerAtNextSync(timeoutMs: number): Promise<UnsyncedFigures & { readonly atSync: boolean }> {
    const armed = await this.command('arm');
    if (armed !== 'armed') throw new Error(`lazyfs answered "${armed}" to arm`);
    const answer = await this.nextAnswer(timeoutMs);
    if (answer !== undefined) return { ...parseFigures(answer, 'cut'), atSync: true };
    return { ...(await this.cutPower()), atSync: false };
  }

  /** Unmounts and waits (bounded) for the filesystem process to exit; kills it by PID past that. Never throws. */
  async unmount(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const exited =
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve(true)
        : new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
    spawnSync('fusermount3', ['-u', this.options.mountpoint], { timeout: exitTimeoutMs });
    const clean = await Promise.race([exited, sleep(exitTimeoutMs, false, { ref: false })]);
    if (!clean) {
      child.kill('SIGKILL');
      spawnSync('fusermount3', ['-u', '-z', this.options.mountpoint], { timeout: exitTimeoutMs });
      await Promise.race([exited, sleep(exitTimeoutMs, false, { ref: false })]);
    }
    this.lines?.close();
    this.child = undefined;
  }

  /** Sends one control line (stats, cut, arm; see lazyfs.py) and returns the answer line. */
  async command(line: string): Promise<string> {
    const stdin = this.child?.stdin;
    if (stdin === undefined || stdin === null) throw new Error(`lazyfs on ${this.options.mountpoint} is not mounted`);
    stdin.write(`${line}\n`);
    const answer = await this.nextAnswer(commandTimeoutMs);
    if (answer === undefined)
      throw new Error(
        `lazyfs on ${this.options.mountpoint} did not answer "${line}" within ${commandTimeoutMs} ms\n${this.errorOutput}`,
      );
    return answer;
  }

  /** The next line the filesystem printed, or undefined if it exited or `timeoutMs` passed first. */
  private async nextAnswer(timeoutMs: number): Promise<string | undefined> {
    const deadline = performance.now() + timeoutMs;
    while (this.answers.length === 0) {
      const child = this.child;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return undefined;
      const remainingMs = deadline - performance.now();
      if (remainingMs <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remainingMs, 250));
        this.waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiting = undefined;
    }
    return this.answers.shift();
  }
}
