// Why: one place that turns an engine kind and a data directory into a StorageEngine, so the node,
// the CLI, tests and benchmarks all lay out a data directory the same way:
//   <directory>/lmdb   the lmdb environment      (kind 'lmdb')
//   <directory>/level  the LevelDB files         (kind 'level')
//   <directory>/wal    the write-ahead log       (lmdb and level, unless writeAheadLog is false)
// Durable engines get the write-ahead log by default (docs/ARCHITECTURE.md section 3: durable acks come from the
// fsynced log, the engine is written behind it).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StorageEngine } from '../../runtime/ports.ts';
import { EverwriteError } from '../../core/base/errors.ts';
import { LevelEngine, type LevelEngineOptions } from './level.ts';
import { LmdbEngine, type LmdbEngineOptions } from './lmdb.ts';
import { LoggedEngine, type LoggedEngineOptions } from './logged.ts';
import { MemoryEngine } from './memory.ts';
import { badOption } from './options.ts';

export { LevelEngine, type LevelEngineOptions } from './level.ts';
export { LmdbEngine, type LmdbEngineOptions } from './lmdb.ts';
export { LoggedEngine, type LoggedEngineOptions, type LoggedEngineStatistics, type ReplayReport } from './logged.ts';
export { MemoryEngine } from './memory.ts';

export type StorageEngineKind = 'memory' | 'lmdb' | 'level';
/** Alias of StorageEngineKind, the name the node's start-up code imports. */
export type EngineKind = StorageEngineKind;

export const storageEngineKinds: readonly StorageEngineKind[] = Object.freeze(['memory', 'lmdb', 'level']);

export interface StorageEngineFactoryOptions {
  /** The node's storage directory; engine and log folders go inside it (see above). Required for lmdb and level, ignored for memory. */
  readonly directory?: string;
  /**
   * Put the write-ahead log in front of the engine. Default true for lmdb and level; ignored for
   * memory (nothing durable to protect). Why false exists: benchmarks comparing the raw engines. A
   * directory written with the log must not be opened without it: its unreplayed records would be lost.
   */
  readonly writeAheadLog?: boolean;
  /** Engine tuning for kind 'lmdb' (the directory is chosen here). */
  readonly lmdb?: Omit<LmdbEngineOptions, 'directory'>;
  /** Engine tuning for kind 'level' (the directory is chosen here). */
  readonly level?: Omit<LevelEngineOptions, 'directory'>;
  /** Write-ahead log tuning (the directory is chosen here). */
  readonly log?: Omit<LoggedEngineOptions, 'directory'>;
}

/** A new, unopened engine of the given kind; call open() before use and close() after. */
export function createStorageEngine(kind: StorageEngineKind, options: StorageEngineFactoryOptions = {}): StorageEngine {
  if (kind === 'memory') return new MemoryEngine();
  if (kind !== 'lmdb' && kind !== 'level')
    throw badOption('createStorageEngine', 'kind', `one of ${storageEngineKinds.join(', ')}`, kind);
  const directory = options.directory;
  if (directory === undefined || directory.length === 0)
    throw badOption('createStorageEngine', 'directory', `a path (kind ${kind} stores data on disk)`, directory);
  const engine =
    kind === 'lmdb'
      ? new LmdbEngine({ ...options.lmdb, directory: join(directory, 'lmdb') })
      : new LevelEngine({ ...options.level, directory: join(directory, 'level') });
  const logDirectory = join(directory, 'wal');
  if (options.writeAheadLog ?? true) return new LoggedEngine(engine, { ...options.log, directory: logDirectory });
  if (existsSync(logDirectory) && readdirSync(logDirectory).some((name) => name.endsWith('.log'))) {
    throw new EverwriteError(
      'EVERWRITE_STORAGE_FAILED',
      `${directory} holds a write-ahead log: open it with writeAheadLog enabled so the log is replayed`,
    );
  }
  return engine;
}
