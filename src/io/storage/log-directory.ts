// Why: the log's files and their checkpoints have one job, apart from the write pipeline: bound the
// disk the log takes and the replay a crash costs. Records go to the current file; when it reaches
// `checkpointBytes` the next group starts a new one and the old one is sealed. Once every group of a
// sealed file has been applied, an empty durable batch on the inner engine (a durability barrier:
// lmdb waits for `flushed`, LevelDB for a synced write) makes them durable there, and the file is
// deleted and the deletion made durable. Checkpoints run one at a time, in file order.
import { join } from 'node:path';
import type { StorageEngine } from '../../runtime/ports.ts';
import { reservedNamespaces } from '../../runtime/ports.ts';
import type { AppendableLogFile, LogFileSystem } from './log-files.ts';
import { logFileMagic } from './log-format.ts';

export interface LogFile {
  readonly generation: number;
  readonly path: string;
  readonly handle: AppendableLogFile;
  bytes: number;
  /** Groups written to this file and not yet applied to the inner engine. */
  unappliedGroups: number;
  /** No more records go to this file; it is deleted once all of them are applied and durable. */
  sealed: boolean;
  retiring: boolean;
}

export interface LogDirectoryOptions {
  readonly directory: string;
  readonly checkpointBytes: number;
  readonly fileSystem: LogFileSystem;
}

/** What the directory needs from the engine it serves. */
export interface LogDirectoryHost {
  readonly inner: StorageEngine;
  /** True once the engine failed: a checkpoint then deletes nothing (the files are replayed next open). */
  isFailed(): boolean;
  /** A checkpoint failed: the engine fails. */
  checkpointFailed(error: unknown): void;
  /** A file was sealed: its checkpoint waits for its groups to be applied. */
  sealed(): void;
}

const logFilePattern = /^wal-(\d{12})\.log$/;

export class LogDirectory {
  /** The file records are appended to (undefined before open and after close). */
  current: LogFile | undefined;
  checkpoints = 0;
  /** Every log file with an open handle: the current one and sealed ones awaiting their checkpoint. */
  private readonly openFiles = new Set<LogFile>();
  private checkpointChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: LogDirectoryOptions,
    private readonly host: LogDirectoryHost,
  ) {}

  /** Forgets the files of an earlier run of the engine (after a failure their handles are abandoned). */
  reset(): void {
    this.openFiles.clear();
  }

  /** The log files on disk, oldest first. */
  async list(): Promise<Array<{ generation: number; path: string }>> {
    await this.options.fileSystem.ensureDirectory(this.options.directory);
    const files: Array<{ generation: number; path: string }> = [];
    for (const name of await this.options.fileSystem.list(this.options.directory)) {
      const match = logFilePattern.exec(name);
      if (match !== null) files.push({ generation: Number(match[1]), path: join(this.options.directory, name) });
    }
    return files.sort((a, b) => a.generation - b.generation);
  }

  /** After replay: the replayed files are in the inner engine; make that durable, delete them, start the next file. */
  async start(replayed: ReadonlyArray<{ readonly generation: number; readonly path: string }>): Promise<void> {
    if (replayed.length > 0) {
      await this.innerBarrier();
      for (const file of replayed) await this.options.fileSystem.unlink(file.path);
      await this.options.fileSystem.syncDirectory(this.options.directory);
    }
    this.current = await this.create((replayed[replayed.length - 1]?.generation ?? 0) + 1);
  }

  /** The file the next group goes to: a new one when the current one is full. */
  async fileForAppend(): Promise<LogFile> {
    const file = this.current as LogFile;
    return file.bytes >= this.options.checkpointBytes ? this.rotate(file) : file;
  }

  /** A group of `file` has been applied to the inner engine: a sealed file with none left is checkpointed. */
  groupApplied(file: LogFile): void {
    file.unappliedGroups--;
    this.maybeRetire(file);
  }

  /** Waits for the checkpoints under way. */
  settled(): Promise<void> {
    return this.checkpointChain;
  }

  /**
   * Closes every file. After a clean run (`discard`) the inner engine is made durable first and the
   * files are deleted: a clean shutdown leaves no log to replay. After a failure they stay, to be
   * replayed by the next open.
   */
  async close(discard: boolean): Promise<void> {
    this.current = undefined;
    if (discard) await this.innerBarrier();
    for (const file of this.openFiles) {
      await file.handle.close();
      if (discard) await this.options.fileSystem.unlink(file.path);
    }
    this.openFiles.clear();
    if (discard) await this.options.fileSystem.syncDirectory(this.options.directory);
  }

  private async rotate(previous: LogFile): Promise<LogFile> {
    const next = await this.create(previous.generation + 1);
    previous.sealed = true;
    this.current = next;
    this.maybeRetire(previous);
    this.host.sealed();
    return next;
  }

  private maybeRetire(file: LogFile): void {
    if (!file.sealed || file.unappliedGroups > 0 || file.retiring) return;
    file.retiring = true;
    this.checkpointChain = this.checkpointChain
      .then(() => this.retire(file))
      .catch((error: unknown) => this.host.checkpointFailed(error));
  }

  private async retire(file: LogFile): Promise<void> {
    if (this.host.isFailed()) return;
    await this.innerBarrier();
    this.openFiles.delete(file);
    await file.handle.close();
    await this.options.fileSystem.unlink(file.path);
    await this.options.fileSystem.syncDirectory(this.options.directory);
    this.checkpoints++;
  }

  /** Resolves once everything the inner engine has applied is durable there (see the file comment). */
  private innerBarrier(): Promise<void> {
    return this.host.inner.batch(reservedNamespaces.metadata, [], { durable: true });
  }

  private async create(generation: number): Promise<LogFile> {
    const path = join(this.options.directory, `wal-${String(generation).padStart(12, '0')}.log`);
    const handle = await this.options.fileSystem.create(path);
    try {
      if (handle.append([logFileMagic]) !== logFileMagic.length) throw new Error('short write of the log file header');
      await handle.datasync();
      // The new name must survive a power loss before any record in it is acknowledged.
      await this.options.fileSystem.syncDirectory(this.options.directory);
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    const file: LogFile = {
      generation,
      path,
      handle,
      bytes: logFileMagic.length,
      unappliedGroups: 0,
      sealed: false,
      retiring: false,
    };
    this.openFiles.add(file);
    return file;
  }
}
