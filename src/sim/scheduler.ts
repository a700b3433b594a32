// Why: the simulator has one notion of time and one order of events. Every timer, message delivery,
// disk completion and client request is a task in this queue, ordered by (virtual time, insertion
// sequence), so a run is a pure function of its seed. Tasks belong to an owner (a node or the
// world): a paused owner's tasks are held until it resumes (like SIGSTOP: the kernel keeps its
// packets and its timers fire late), and a crashed owner's tasks from before the crash are dropped.
// Every task that runs is folded into the trace hash, which is how determinism is checked.
import { createHash, type Hash } from 'node:crypto';
import { assert } from '../core/base/assert.ts';

export interface TaskHandle {
  cancel(): void;
}

interface Task {
  readonly atMs: number;
  readonly sequence: number;
  readonly owner: string;
  readonly generation: number;
  readonly label: string;
  readonly run: () => void;
  cancelled: boolean;
}

/** The world owns tasks that no crash or pause can touch: nemesis, clients, the checker. */
export const worldOwner = 'world';

function earlier(a: Task, b: Task): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.sequence < b.sequence);
}

/** A binary min-heap on (atMs, sequence). */
class TaskHeap {
  private readonly items: Task[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Task | undefined {
    return this.items[0];
  }

  push(task: Task): void {
    const items = this.items;
    items.push(task);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!earlier(task, items[parent] as Task)) break;
      items[index] = items[parent] as Task;
      index = parent;
    }
    items[index] = task;
  }

  pop(): Task | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && earlier(items[right] as Task, items[left] as Task) ? right : left;
      if (!earlier(items[child] as Task, last)) break;
      items[index] = items[child] as Task;
      index = child;
    }
    items[index] = last;
    return top;
  }
}

export class SimScheduler {
  private nowValue = 0;
  private sequence = 0;
  private readonly heap = new TaskHeap();
  private readonly generations = new Map<string, number>();
  private readonly held = new Map<string, Task[]>();
  private readonly trace: Hash = createHash('sha256');
  /** Tasks run so far (the length of the trace). */
  eventsRun = 0;
  /** A debugging tap on the trace: every task's line and every note, as they happen. */
  onEvent: ((line: string) => void) | undefined;

  get nowMs(): number {
    return this.nowValue;
  }

  get pendingCount(): number {
    return this.heap.size;
  }

  /** Runs `run` after `delayMs` of virtual time, on behalf of `owner`. */
  schedule(delayMs: number, owner: string, label: string, run: () => void): TaskHandle {
    assert(Number.isFinite(delayMs) && delayMs >= 0, `a delay is a finite non-negative number, got ${delayMs}`);
    const task: Task = {
      atMs: this.nowValue + delayMs,
      sequence: this.sequence++,
      owner,
      generation: this.generations.get(owner) ?? 0,
      label,
      run,
      cancelled: false,
    };
    this.heap.push(task);
    return {
      cancel: () => {
        task.cancelled = true;
      },
    };
  }

  /** Drops every task `owner` scheduled so far (a crash); later ones run normally. */
  kill(owner: string): void {
    assert(owner !== worldOwner, 'the world never crashes');
    this.generations.set(owner, (this.generations.get(owner) ?? 0) + 1);
    this.held.delete(owner);
  }

  isPaused(owner: string): boolean {
    return this.held.has(owner);
  }

  /** Holds `owner`'s tasks as they come due, until `resume`. */
  pause(owner: string): void {
    assert(owner !== worldOwner, 'the world never pauses');
    if (!this.held.has(owner)) this.held.set(owner, []);
  }

  /** Releases the held tasks, due now, in the order they were scheduled. */
  resume(owner: string): void {
    const tasks = this.held.get(owner);
    this.held.delete(owner);
    if (tasks === undefined) return;
    tasks.sort((a, b) => a.sequence - b.sequence);
    for (const task of tasks) this.heap.push({ ...task, atMs: this.nowValue, sequence: this.sequence++ });
  }

  /** Folds a fact into the trace hash (the runner adds client outcomes and checker verdicts). */
  note(text: string): void {
    this.trace.update(text);
    this.trace.update('\n');
    this.onEvent?.(`${this.nowValue.toFixed(3)} note ${text}`);
  }

  /** Hex SHA-256 of the trace so far (the hash object is copied, so the trace can go on). */
  traceHash(): string {
    return this.trace.copy().digest('hex');
  }

  /**
   * Pops the next task due at or before `untilMs`, advances time to it and runs it. Returns false
   * when nothing is due (time then moves to `untilMs`).
   */
  runNext(untilMs: number): boolean {
    for (;;) {
      const task = this.heap.peek();
      if (task === undefined || task.atMs > untilMs) {
        if (untilMs !== Infinity && untilMs > this.nowValue) this.nowValue = untilMs;
        return false;
      }
      this.heap.pop();
      if (task.cancelled || task.generation !== (this.generations.get(task.owner) ?? 0)) continue;
      this.nowValue = task.atMs;
      const held = this.held.get(task.owner);
      if (held !== undefined) {
        held.push(task);
        continue;
      }
      this.eventsRun += 1;
      const line = `${task.atMs.toFixed(3)} ${task.owner} ${task.label}`;
      this.trace.update(line);
      this.trace.update('\n');
      this.onEvent?.(line);
      task.run();
      return true;
    }
  }
}
