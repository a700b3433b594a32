// Why: a client must not let an application's burst open thousands of sockets or queue without end.
// At most `concurrencyMax` calls run; the next `queuedMax` wait in arrival order (FIFO, so no call
// starves); beyond that a call is refused at once, which an application can see and slow down for.
import { clientErrorCodes, EverwriteClientError } from './errors.ts';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: EverwriteClientError) => void;
}

export class ConcurrencyLimiter {
  private running = 0;
  private readonly waiting: Waiter[] = [];
  /** Index of the next waiter in `waiting`; the array is compacted when half of it is served. */
  private head = 0;
  private closed = false;

  constructor(
    private readonly concurrencyMax: number,
    private readonly queuedMax: number,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** Resolves when a slot is taken; the caller must call release() exactly once afterwards. */
  acquire(): Promise<void> {
    if (this.closed)
      return Promise.reject(
        new EverwriteClientError({ code: clientErrorCodes.closed, message: 'the client is closed' }),
      );
    if (this.running < this.concurrencyMax) {
      this.running++;
      return Promise.resolve();
    }
    if (this.queued >= this.queuedMax) {
      const message = `the client already has ${this.running} calls in flight and ${this.queued} queued (maxConcurrency ${this.concurrencyMax}, maxQueued ${this.queuedMax})`;
      return Promise.reject(new EverwriteClientError({ code: clientErrorCodes.overloaded, message }));
    }
    return new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  release(): void {
    const next = this.waiting[this.head];
    if (next === undefined) {
      this.running--;
      return;
    }
    this.waiting[this.head] = undefined as never;
    this.head++;
    if (this.head * 2 >= this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    // The slot passes straight to the next waiter: `running` is unchanged.
    next.resolve();
  }

  /** Refuses every queued and future call; calls already running keep their slots. */
  close(): void {
    this.closed = true;
    const error = new EverwriteClientError({
      code: clientErrorCodes.closed,
      message: 'the client was closed before this call was sent',
    });
    for (let index = this.head; index < this.waiting.length; index++) this.waiting[index]!.reject(error);
    this.waiting.length = 0;
    this.head = 0;
  }
}
