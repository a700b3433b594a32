#!/usr/bin/python3
# Why: `kill -9` leaves the kernel's page cache intact, so a node-level test that only kills
# processes cannot tell a write that reached the disk from one that merely reached the OS. This is a
# small "lazy" filesystem in the manner of Jepsen's LazyFS: a FUSE passthrough over a backing
# directory that keeps every file's written bytes in memory until an fsync/fdatasync of that file,
# and on command cuts the power: everything not yet synced is dropped and every later operation
# fails until the filesystem is mounted again. test/support/lazy-fs.ts drives it.
#
# Model (docs/decisions/0032-lazy-filesystem-model.md):
# - File data: writes and truncations land in a per-file overlay of 4 KiB pages (reads see them);
#   fsync or fdatasync of the file, or a write through a descriptor opened O_SYNC/O_DSYNC, writes
#   the file's overlay to the backing file and fsyncs it. Closing a file syncs nothing.
# - Metadata (create, mkdir, rename, unlink, rmdir, chmod, utimens) reaches the backing directory
#   at once, as if every directory operation were synced. A missing directory fsync is therefore
#   not caught here; the simulator's disk covers that (decision 0027).
# - Power cut: drops every unsynced page and fails every later operation with EIO, until the
#   filesystem is mounted again (a reboot). Cut on command, or armed: at the start of the next sync
#   of a file that holds unsynced data, before anything of it persists (as LazyFS's fault injection
#   "clear-cache before fsync"). That instant always finds written, not yet synced data, so a
#   write acknowledged before its sync is lost there however fast the real disk is.
# - Memory: unsynced pages are capped (`--cap-bytes`); a write past the cap fails with ENOSPC.
#
# Control: one command per line on standard input, one answer line on standard output.
#   stats -> "pending <files> <bytes>"
#   cut   -> "cut <files> <bytes>": cuts the power now (what it dropped); again after a cut: "cut 0 0".
#   arm   -> "armed", and later, unasked, "cut <files> <bytes>" when the armed cut happens.
# End of standard input (the test runner is gone) unmounts lazily so no mount is left behind.
# Ready: prints "mounted" once the kernel has initialised the filesystem.
#
# Run with Debian's interpreter: /usr/bin/python3 lazyfs.py --backing DIR --mount DIR [options].
import argparse
import errno
import os
import subprocess
import sys
import threading

import fusepy

PAGE_BYTES = 4096


class FileOverlay:
    """The unsynced state of one file: dirty pages, its logical size, and how much of the backing file is still valid."""

    def __init__(self, backing_size):
        self.pages = {}
        self.size = backing_size
        # Bytes of the backing file at or past this offset were cut by a pending truncation: they read as zeros.
        self.valid_bytes = backing_size

    def page_bytes(self):
        return len(self.pages) * PAGE_BYTES


class LazyFileSystem(fusepy.Operations):
    def __init__(self, backing, cap_bytes):
        self.backing = os.path.realpath(backing)
        self.cap_bytes = cap_bytes
        self.mutex = threading.RLock()
        self.power_cut = False
        self.armed = False
        self.overlays = {}
        self.handles = {}
        self.pending_bytes = 0

    # --- helpers -------------------------------------------------------------------------------

    def full(self, path):
        return os.path.join(self.backing, path.lstrip('/'))

    def check_power(self):
        if self.power_cut:
            raise fusepy.FuseOSError(errno.EIO)

    def overlay_for(self, path, fd):
        overlay = self.overlays.get(path)
        if overlay is None:
            overlay = FileOverlay(os.fstat(fd).st_size)
            self.overlays[path] = overlay
        return overlay

    def backing_bytes(self, fd, overlay, offset, length):
        """Bytes of the backing file in [offset, offset+length), zeros past its end or past a pending truncation."""
        data = os.pread(fd, length, offset) if offset < overlay.valid_bytes else b''
        valid = max(0, min(len(data), overlay.valid_bytes - offset))
        return data[:valid] + b'\0' * (length - valid)

    def read_range(self, fd, overlay, offset, length):
        end = min(offset + length, overlay.size)
        chunks = []
        position = offset
        while position < end:
            index = position // PAGE_BYTES
            within = position - index * PAGE_BYTES
            take = min(PAGE_BYTES - within, end - position)
            page = overlay.pages.get(index)
            chunks.append(bytes(page[within:within + take]) if page is not None else self.backing_bytes(fd, overlay, position, take))
            position += take
        return b''.join(chunks)

    def dirty_page(self, fd, overlay, index):
        page = overlay.pages.get(index)
        if page is None:
            if self.pending_bytes + PAGE_BYTES > self.cap_bytes:
                raise fusepy.FuseOSError(errno.ENOSPC)
            page = bytearray(self.backing_bytes(fd, overlay, index * PAGE_BYTES, PAGE_BYTES))
            tail = overlay.size - index * PAGE_BYTES
            if tail < PAGE_BYTES:
                page[max(0, tail):] = b'\0' * (PAGE_BYTES - max(0, tail))
            overlay.pages[index] = page
            self.pending_bytes += PAGE_BYTES
        return page

    def truncate_overlay(self, fd, overlay, length):
        for index in [index for index in overlay.pages if index * PAGE_BYTES >= length]:
            del overlay.pages[index]
            self.pending_bytes -= PAGE_BYTES
        last = overlay.pages.get(length // PAGE_BYTES)
        if last is not None:
            within = length % PAGE_BYTES
            last[within:] = b'\0' * (PAGE_BYTES - within)
        overlay.valid_bytes = min(overlay.valid_bytes, length)
        overlay.size = length

    def persist(self, path, fd):
        """Writes the file's overlay to the backing file and fsyncs it (caller holds the lock)."""
        overlay = self.overlays.pop(path, None)
        if overlay is not None:
            os.ftruncate(fd, overlay.valid_bytes)
            for index, page in sorted(overlay.pages.items()):
                start = index * PAGE_BYTES
                os.pwrite(fd, bytes(page[:max(0, min(PAGE_BYTES, overlay.size - start))]), start)
            os.ftruncate(fd, overlay.size)
            self.pending_bytes -= overlay.page_bytes()
        os.fsync(fd)

    def sync_file(self, path, fd):
        with self.mutex:
            self.check_power()
            if self.armed and path in self.overlays:
                files, pending = self.cut()
                print(f'cut {files} {pending}', flush=True)
                raise fusepy.FuseOSError(errno.EIO)
            self.persist(path, fd)

    def move_overlays(self, old, new):
        moved = {}
        for path in list(self.overlays):
            if path == old or path.startswith(old + '/'):
                moved[new + path[len(old):]] = self.overlays.pop(path)
        for path in [path for path in self.overlays if path == new or path.startswith(new + '/')]:
            self.pending_bytes -= self.overlays.pop(path).page_bytes()
        self.overlays.update(moved)

    def forget(self, path):
        overlay = self.overlays.pop(path, None)
        if overlay is not None:
            self.pending_bytes -= overlay.page_bytes()

    # --- control -------------------------------------------------------------------------------

    def stats(self):
        with self.mutex:
            return len(self.overlays), self.pending_bytes

    def cut(self):
        with self.mutex:
            files, pending = len(self.overlays), self.pending_bytes
            self.power_cut = True
            self.armed = False
            self.overlays.clear()
            self.pending_bytes = 0
            return files, pending

    def arm(self):
        # Answered under the mutex, so "armed" always precedes the "cut" it leads to.
        with self.mutex:
            self.armed = not self.power_cut
            print('armed', flush=True)

    # --- FUSE operations -----------------------------------------------------------------------

    def init(self, path):
        print('mounted', flush=True)

    def getattr(self, path, fh=None):
        with self.mutex:
            self.check_power()
            status = os.lstat(self.full(path))
            attributes = {key: getattr(status, key) for key in ('st_atime', 'st_ctime', 'st_gid', 'st_mode', 'st_mtime', 'st_nlink', 'st_size', 'st_uid', 'st_ino')}
            overlay = self.overlays.get(path)
            if overlay is not None:
                attributes['st_size'] = overlay.size
            attributes['st_blocks'] = (attributes['st_size'] + 511) // 512
            return attributes

    def access(self, path, amode):
        self.check_power()
        if not os.access(self.full(path), amode):
            raise fusepy.FuseOSError(errno.EACCES)

    def readdir(self, path, fh):
        self.check_power()
        return ['.', '..'] + os.listdir(self.full(path))

    def statfs(self, path):
        self.check_power()
        status = os.statvfs(self.full(path))
        return {key: getattr(status, key) for key in ('f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail', 'f_ffree', 'f_files', 'f_flag', 'f_frsize', 'f_namemax')}

    def mkdir(self, path, mode):
        self.check_power()
        os.mkdir(self.full(path), mode)

    def rmdir(self, path):
        self.check_power()
        os.rmdir(self.full(path))

    def unlink(self, path):
        with self.mutex:
            self.check_power()
            os.unlink(self.full(path))
            self.forget(path)

    def rename(self, old, new):
        with self.mutex:
            self.check_power()
            os.rename(self.full(old), self.full(new))
            self.move_overlays(old, new)

    def link(self, target, source):
        raise fusepy.FuseOSError(errno.EPERM)

    def symlink(self, target, source):
        self.check_power()
        os.symlink(source, self.full(target))

    def readlink(self, path):
        self.check_power()
        return os.readlink(self.full(path))

    def chmod(self, path, mode):
        self.check_power()
        os.chmod(self.full(path), mode)

    def chown(self, path, uid, gid):
        self.check_power()
        os.chown(self.full(path), uid, gid)

    def utimens(self, path, times=None):
        self.check_power()
        os.utime(self.full(path), times)

    def register(self, path, fd, flags):
        self.handles[fd] = bool(flags & (os.O_SYNC | os.O_DSYNC))
        return fd

    def create(self, path, mode, fi=None):
        with self.mutex:
            self.check_power()
            fd = os.open(self.full(path), os.O_RDWR | os.O_CREAT, mode)
            return self.register(path, fd, 0)

    def open(self, path, flags):
        with self.mutex:
            self.check_power()
            # Always read-write: filling a dirty page reads the backing file. O_TRUNC arrives as a truncate.
            fd = os.open(self.full(path), os.O_RDWR)
            return self.register(path, fd, flags)

    def read(self, path, size, offset, fh):
        with self.mutex:
            self.check_power()
            overlay = self.overlays.get(path)
            if overlay is None:
                return os.pread(fh, size, offset)
            return self.read_range(fh, overlay, offset, size)

    def write(self, path, data, offset, fh):
        with self.mutex:
            self.check_power()
            overlay = self.overlay_for(path, fh)
            position = 0
            while position < len(data):
                index = (offset + position) // PAGE_BYTES
                within = (offset + position) - index * PAGE_BYTES
                take = min(PAGE_BYTES - within, len(data) - position)
                page = self.dirty_page(fh, overlay, index)
                page[within:within + take] = data[position:position + take]
                position += take
                overlay.size = max(overlay.size, offset + position)
            synchronous = self.handles.get(fh, False)
        if synchronous:
            self.sync_file(path, fh)
        return len(data)

    def truncate(self, path, length, fh=None):
        with self.mutex:
            self.check_power()
            fd = fh if fh is not None else os.open(self.full(path), os.O_RDWR)
            try:
                self.truncate_overlay(fd, self.overlay_for(path, fd), length)
            finally:
                if fh is None:
                    os.close(fd)

    def flush(self, path, fh):
        self.check_power()
        return 0

    def fsync(self, path, datasync, fh):
        self.check_power()
        self.sync_file(path, fh)
        return 0

    def fsyncdir(self, path, datasync, fh):
        self.check_power()
        return 0

    def release(self, path, fh):
        with self.mutex:
            self.handles.pop(fh, None)
            os.close(fh)
        return 0


def serve_commands(filesystem, mountpoint):
    for line in sys.stdin:
        command = line.strip()
        if command == 'stats':
            files, pending = filesystem.stats()
            print(f'pending {files} {pending}', flush=True)
        elif command == 'cut':
            files, pending = filesystem.cut()
            print(f'cut {files} {pending}', flush=True)
        elif command == 'arm':
            filesystem.arm()
        else:
            print(f'error unknown command {command!r}', flush=True)
    subprocess.run(['fusermount3', '-u', '-z', mountpoint], check=False)


def main():
    parser = argparse.ArgumentParser(description='A FUSE passthrough that keeps writes in memory until fsync and drops them on a power cut.')
    parser.add_argument('--backing', required=True)
    parser.add_argument('--mount', required=True)
    parser.add_argument('--cap-bytes', type=int, default=256 * 1024 * 1024)
    options = parser.parse_args()
    filesystem = LazyFileSystem(options.backing, options.cap_bytes)
    threading.Thread(target=serve_commands, args=(filesystem, options.mount), daemon=True).start()
    fusepy.FUSE(filesystem, options.mount, foreground=True, nothreads=False, big_writes=True, max_write=131072, fsname='lazyfs')


if __name__ == '__main__':
    main()
