// Why: the write-ahead log decides what survives a crash, so the simulator must run that code, not a
// re-statement of it (decision 0027). Everything the log does to its directory goes through this
// port: production binds it to node:fs (below), the simulator to a disk that loses unsynced bytes
// on a crash and fails I/O on command (src/sim/storage.ts). The port is the few calls the log needs,
// with the durability meaning each has on a real file system spelled out, so both bindings agree.
import { promises as fs, writevSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** One log file open for appending. */
export interface AppendableLogFile {
  /**
   * Appends `chunks` in order, synchronously, returning the bytes written (less than their sum is a
   * short write). Appended bytes are readable at once but durable only after `datasync`: a power
   * loss keeps any prefix of what was appended since.
   */
  append(chunks: readonly Uint8Array[]): number;
  /** Resolves once every byte appended before the call survives a power loss. */
  datasync(): Promise<void>;
  close(): Promise<void>;
}

export interface LogFileSystem {
  /** Creates the directory (and its parents) if missing. */
  ensureDirectory(directory: string): Promise<void>;
  /** Names of the entries in the directory, in no particular order. */
  list(directory: string): Promise<string[]>;
  /** Creates a new, empty file for appending; fails if one by that name exists. Its name is durable only after `syncDirectory`. */
  create(path: string): Promise<AppendableLogFile>;
  /** The whole content of a file. */
  read(path: string): Promise<Uint8Array>;
  /** Removes a file; the removal is durable only after `syncDirectory`. */
  unlink(path: string): Promise<void>;
  /** Makes every creation and removal in the directory so far survive a power loss. */
  syncDirectory(directory: string): Promise<void>;
}

class NodeLogFile implements AppendableLogFile {
  constructor(private readonly handle: FileHandle) {}

  append(chunks: readonly Uint8Array[]): number {
    // Synchronous: appending to the page cache takes microseconds, less than handing the write to
    // the thread pool and being woken for its completion (two context switches).
    return writevSync(this.handle.fd, chunks as Uint8Array[]);
  }

  datasync(): Promise<void> {
    return this.handle.datasync();
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** The production binding: the node's file system. */
export const nodeLogFileSystem: LogFileSystem = Object.freeze({
  ensureDirectory: async (directory: string) => {
    await fs.mkdir(directory, { recursive: true });
  },
  list: (directory: string) => fs.readdir(directory),
  // 'ax': append-only, and never reuse a file that is already there.
  create: async (path: string) => new NodeLogFile(await fs.open(path, 'ax')),
  read: (path: string) => fs.readFile(path),
  unlink: (path: string) => fs.unlink(path),
  syncDirectory: async (directory: string) => {
    const handle = await fs.open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
});
