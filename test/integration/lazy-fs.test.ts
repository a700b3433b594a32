// Why: the power-loss test (power-loss.test.ts) is only as good as the lazy filesystem under it:
// if it persisted unsynced bytes, lost synced ones, or served reads wrongly, that test would pass
// or fail for the wrong reason. These cases pin its model (decision 0032) with plain file
// operations: reads see unsynced writes, a sync persists them, a power cut drops the rest and fails
// every later operation, truncation and renames carry unsynced state, the memory cap refuses
// writes, an armed cut falls at the next sync, and an unknown control command is refused.
import { after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testNeeding } from '../support/environment.ts';
import { LazyMount, lazyFsMissing, type LazyMountOptions } from '../support/lazy-fs.ts';

const missing = lazyFsMissing();
const mounts: LazyMount[] = [];
const directories: string[] = [];

after(
  async () => {
    for (const mount of mounts) await mount.unmount();
    for (const directory of directories) rmSync(directory, { recursive: true, force: true });
  },
  { timeout: 60_000 },
);

async function mountFresh(
  options: Partial<LazyMountOptions> = {},
): Promise<{ mount: LazyMount; backing: string; mounted: string }> {
  const directory = mkdtempSync(join(tmpdir(), 'everwrite-lazy-fs-'));
  directories.push(directory);
  const backing = join(directory, 'disk');
  const mounted = join(directory, 'mount');
  const mount = await LazyMount.mount({ backing, mountpoint: mounted, ...options });
  mounts.push(mount);
  return { mount, backing, mounted };
}

/** Appends `text` to `path` through a fresh descriptor, fsyncing it when asked. */
function append(path: string, text: string, sync: boolean): void {
  const descriptor = openSync(path, 'a');
  try {
    writeSync(descriptor, text);
    if (sync) fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

async function reboot(mount: LazyMount): Promise<void> {
  await mount.cutPower();
  await mount.unmount();
  await mount.mountAgain();
}

const options = { timeout: 60_000 };
const pageBytes = 4096;

testNeeding(
  missing,
  'lazy filesystem: reads see unsynced writes; a power cut keeps what was synced and drops the rest',
  options,
  async () => {
    const { mount, backing, mounted } = await mountFresh();
    const file = join(mounted, 'log');
    append(file, 'synced;', true);
    append(file, 'unsynced;', false);
    assert.equal(readFileSync(file, 'utf8'), 'synced;unsynced;', 'the mount serves unsynced bytes');
    assert.equal(readFileSync(join(backing, 'log'), 'utf8'), 'synced;', 'the disk holds only the synced ones');
    assert.deepEqual(await mount.stats(), { files: 1, bytes: 4096 });
    const dropped = await mount.cutPower();
    assert.deepEqual(dropped, { files: 1, bytes: 4096 });
    assert.throws(() => readFileSync(file), /EIO/, 'after the cut every operation fails');
    await mount.unmount();
    await mount.mountAgain();
    assert.equal(readFileSync(file, 'utf8'), 'synced;');
  },
);

/** Cuts `path` to 2 bytes and writes 'Z' two pages further on, syncing when asked; returns what the file should then read. */
function truncateAndGrow(path: string, sync: boolean): Buffer {
  const descriptor = openSync(path, 'r+');
  try {
    ftruncateSync(descriptor, 2);
    writeSync(descriptor, 'Z', 2 * pageBytes + 100);
    if (sync) fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  const expected = Buffer.alloc(2 * pageBytes + 101);
  expected.write('aa');
  expected.write('Z', 2 * pageBytes + 100);
  return expected;
}

testNeeding(
  missing,
  'lazy filesystem: a truncation is unsynced state too, and bytes past it read as zeros once the file grows again',
  options,
  async () => {
    const { mount, mounted } = await mountFresh();
    const file = join(mounted, 'data');
    const original = 'a'.repeat(3 * pageBytes);
    append(file, original, true);
    const grown = truncateAndGrow(file, false);
    assert.equal(readFileSync(file).equals(grown), true, 'the cut bytes do not come back from the disk');
    await reboot(mount);
    assert.equal(readFileSync(file, 'utf8'), original, 'the unsynced truncation is undone');
    truncateAndGrow(file, true);
    await reboot(mount);
    assert.equal(
      readFileSync(file).equals(grown),
      true,
      'a synced truncation persists with the write after it, the gap zeros',
    );
  },
);

testNeeding(
  missing,
  'lazy filesystem: a rename is durable at once and carries the unsynced data of the file it moves',
  options,
  async () => {
    const { mount, mounted } = await mountFresh();
    append(join(mounted, 'kept.tmp'), 'kept', false);
    renameSync(join(mounted, 'kept.tmp'), join(mounted, 'kept'));
    append(join(mounted, 'kept'), '', true);
    append(join(mounted, 'lost.tmp'), 'lost', false);
    renameSync(join(mounted, 'lost.tmp'), join(mounted, 'lost'));
    assert.equal(readFileSync(join(mounted, 'lost'), 'utf8'), 'lost');
    await reboot(mount);
    assert.equal(readFileSync(join(mounted, 'kept'), 'utf8'), 'kept', 'synced under its new name');
    assert.equal(existsSync(join(mounted, 'lost.tmp')), false, 'the rename itself persisted');
    assert.equal(
      readFileSync(join(mounted, 'lost'), 'utf8'),
      '',
      'renamed but never synced: the name stays, the data does not',
    );
  },
);

testNeeding(
  missing,
  'lazy filesystem: unsynced bytes past the memory cap are refused with ENOSPC',
  options,
  async () => {
    const { mounted } = await mountFresh({ capBytes: 16 * 1024 });
    const descriptor = openSync(join(mounted, 'big'), 'w');
    try {
      writeSync(descriptor, Buffer.alloc(12 * 1024, 1));
      assert.throws(() => writeSync(descriptor, Buffer.alloc(12 * 1024, 2)), /ENOSPC/);
      fsyncSync(descriptor);
      writeSync(descriptor, Buffer.alloc(12 * 1024, 3));
    } finally {
      closeSync(descriptor);
    }
  },
);

testNeeding(
  missing,
  'lazy filesystem: an armed cut falls at the next sync of unsynced data, which then fails with EIO',
  options,
  async (context: TestContext) => {
    const { mount, mounted } = await mountFresh();
    const file = join(mounted, 'wal');
    append(file, 'before;', true);
    const cut = mount.cutPowerAtNextSync(10_000);
    const descriptor = openSync(file, 'a');
    writeSync(descriptor, 'racing;');
    let syncError: unknown;
    // Armed asynchronously: retry the sync until the cut answers (bounded by the cut's own timeout).
    for (let attempt = 0; attempt < 100 && syncError === undefined; attempt++) {
      try {
        fsyncSync(descriptor);
        writeSync(descriptor, 'x');
        await new Promise((resolve) => setTimeout(resolve, 20));
      } catch (error) {
        syncError = error;
      }
    }
    try {
      closeSync(descriptor);
    } catch {
      // closing after a cut may fail too
    }
    const figures = await cut;
    context.diagnostic(`armed cut dropped ${figures.files} files, ${figures.bytes} bytes`);
    assert.equal(figures.atSync, true, 'a sync set the cut off');
    assert.match(String(syncError), /EIO/);
    await mount.unmount();
    await mount.mountAgain();
    assert.equal(readFileSync(file, 'utf8').startsWith('before;'), true);
  },
);

testNeeding(
  missing,
  'lazy filesystem: an unknown control command is refused and the filesystem keeps serving',
  options,
  async () => {
    const { mount, mounted } = await mountFresh();
    assert.equal(await mount.command('format-disk'), "error unknown command 'format-disk'");
    append(join(mounted, 'still'), 'served', false);
    assert.equal(readFileSync(join(mounted, 'still'), 'utf8'), 'served');
    assert.deepEqual(await mount.stats(), { files: 1, bytes: 4096 }, 'the next command is answered in turn');
  },
);
