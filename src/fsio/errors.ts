/**
 * Typed errors of the durable-write layer. Entry points map them to one line and an exit code.
 */

/** Base class of every error jitd raises on purpose; `code` is stable for scripts and tests. */
export class JitdError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * fsync failed. Fatal by design (the PostgreSQL lesson): after a failed fsync the kernel may
 * already have dropped the dirty pages and cleared the error, so a retry can "succeed" without
 * the data ever reaching the disk. The daemon logs and exits non-zero; the reconciler at the
 * next start rolls forward from what is really durable.
 */
export class FsyncFailedError extends JitdError {
  constructor(path: string, cause: unknown) {
    super('EFSYNC', `fsync failed on ${path}: ${(cause as Error)?.message ?? cause}`, { cause });
  }
}

/** A write or rename failed (ENOSPC, EIO, EACCES, a short write that made no progress...). */
export class DiskWriteError extends JitdError {
  constructor(path: string, cause: unknown) {
    const errno = (cause as { code?: string })?.code;
    super('EDISK', `cannot write ${path}${errno ? ` (${errno})` : ''}: ${(cause as Error)?.message ?? cause}`, {
      cause,
    });
  }
  get errno(): string | undefined {
    return (this.cause as { code?: string } | undefined)?.code;
  }
}

/** A create-only put found the target already there. */
export class TargetExistsError extends JitdError {
  constructor(readonly path: string) {
    super('EEXIST', `${path} already exists`);
  }
}

/** A guarded replace found the target changed since the caller last checked it. */
export class TargetChangedError extends JitdError {
  constructor(readonly path: string) {
    super('ETARGETCHANGED', `${path} changed while jitd was replacing it`);
  }
}

/** A file jitd reads as text is not a regular file (a FIFO, a device, a socket, a directory). */
export class NotRegularFileError extends JitdError {
  constructor(
    readonly path: string,
    readonly kind: 'dir' | 'other',
  ) {
    super('ENOTREG', `${path} is ${kind === 'dir' ? 'a directory' : 'not a regular file (a FIFO, socket or device)'}`);
  }
}
