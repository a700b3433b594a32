// Why: an operator grows and shrinks a cluster with commands, not curl (decision 0017, docs/OPERATIONS.md):
// `everwrite cluster join <seed>` asks a new node to join, `leave [node]` and `remove <node>` stage
// changes at the claimant, `plan` shows what would move, `commit [--wait]` makes the transition
// view and can follow the handoff with a progress bar until it completes. Each is a POST or GET on
// the admin API (docs/API.md); plan calls follow the 307 to the claimant. Formatting is pure and
// exported for tests.
import { createRequire } from 'node:module';
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseNodeUrl } from '../format.ts';
import { nodeOption, withCredentials } from '../options.ts';
import { processIo, type CommandIo } from '../command-io.ts';
import { describeFetchFailure } from '../node-fetch.ts';
import type { CommitReport, PlanPreviewJson, PlanReport } from '../../runtime/service.ts';

/** Between two looks at the transition's progress. */
const pollIntervalMs = 500;

export interface MembershipArguments {
  readonly node: string;
  readonly json: boolean;
}

/** A transfer as /admin/status reports it (the node's handoff status). */
interface TransferRow {
  readonly partition: number;
  readonly peer: string;
  readonly direction: 'outgoing' | 'incoming';
  readonly bytes: number;
  readonly done: boolean;
}

interface HandoffDocument {
  readonly viewVersion?: number;
  readonly transfersTotal: number;
  readonly transfersKnownDone: number;
  readonly transfers: readonly TransferRow[];
}

/** The background admission controller as /admin/status reports it (paper section 6.5). */
interface BackgroundDocument {
  readonly throttled: boolean;
  readonly bytesPerSecondNow: number;
  readonly foregroundP99Ms: number;
  readonly baselineMs: number | null;
}

interface StatusDocument {
  readonly id: string;
  readonly members: ReadonlyArray<{ readonly id: string; readonly http?: string | null; readonly membership?: string }>;
  readonly view?: { readonly version: number };
  readonly handoff?: HandoffDocument;
  readonly background?: BackgroundDocument;
}

/** One member's part in a transition, as `cluster status` gathers it (undefined: it did not answer). */
export interface MemberHandoff {
  readonly id: string;
  readonly handoff: HandoffDocument | undefined;
  readonly background?: BackgroundDocument | undefined;
}

/**
 * Fetches `url`, following one 307 to the claimant by hand: fetch drops the Authorization header
 * on a redirect to another origin (another node's port), and the claimant needs it too.
 */
async function followingRedirect(url: URL, init: RequestInit, timeoutMs: number): Promise<Response> {
  const response = await fetchOrSay(url, init, timeoutMs);
  const location = response.headers.get('location');
  if (response.status !== 307 || location === null) return response;
  await response.arrayBuffer();
  return fetchOrSay(new URL(location, url), init, timeoutMs);
}

/** fetch, with a failure that names the node and why (refused, no answer in time), not "fetch failed". */
async function fetchOrSay(url: URL, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new Error(describeFetchFailure(url.origin, error, timeoutMs));
  }
}

/** One admin call; answers the parsed JSON or throws with the node's coded error. */
async function adminCall<T>(io: CommandIo, node: string, path: string, init: RequestInit = {}): Promise<T> {
  const url = new URL(path, parseNodeUrl(node));
  const response = await followingRedirect(url, { ...withCredentials(init), redirect: 'manual' }, io.requestTimeoutMs);
  const text = await response.text();
  if (!response.ok) {
    let reason = text;
    try {
      const coded = JSON.parse(text) as { code?: string; message?: string };
      if (coded.code !== undefined) reason = `${coded.code}: ${coded.message ?? ''}`;
    } catch {
      // not JSON: shown as is
    }
    throw new Error(`${init.method ?? 'GET'} ${url.pathname} answered ${response.status}: ${reason}`);
  }
  return JSON.parse(text) as T;
}

function post(body: unknown): RequestInit {
  return { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
}

function formatPreview(preview: PlanPreviewJson): string[] {
  const lines = preview.members.map(
    (member) =>
      `  ${member.id.padEnd(12)} ${member.state.padEnd(8)} partitions ${String(member.partitionsBefore).padStart(5)} -> ${member.partitionsAfter}`,
  );
  return [
    ...lines,
    `  ${preview.partitionsMoved} partitions change owner; ${preview.transfers.length} transfers to stream`,
  ];
}

/** The plan as `cluster plan` prints it: staged changes, what they would move, and any transition under way. */
export function formatPlan(report: PlanReport): string {
  const lines = [
    `claimant ${report.claimant}, view version ${report.version}, largest bucket n ${report.replicaCount}`,
  ];
  if (report.staged === null) lines.push('nothing staged');
  else {
    lines.push(`staged against version ${report.staged.baseVersion}:`);
    for (const change of report.staged.changes)
      lines.push(
        `  ${change.kind} ${change.id}${change.kind === 'join' ? ` (peer ${change.peer}, http ${change.http ?? '-'}, zone ${change.zone ?? '-'}, weight ${change.weight})` : ''}`,
      );
  }
  if (report.preview !== null) lines.push('if committed:', ...formatPreview(report.preview));
  if (report.previewError !== null)
    lines.push(`the staged plan no longer applies: ${report.previewError.code}: ${report.previewError.message}`);
  if (report.transition !== null) lines.push('transition under way:', ...formatPreview(report.transition));
  return lines.join('\n');
}

/** The pacing column: the background byte budget now, and why it is halved when it is. */
export function formatPacing(background: BackgroundDocument | undefined): string {
  if (background === undefined) return '';
  const budget = `budget ${(background.bytesPerSecondNow / (1024 * 1024)).toFixed(1)} MiB/s`;
  if (!background.throttled) return budget;
  return `${budget}, halved: foreground p99 ${background.foregroundP99Ms.toFixed(0)} ms over baseline ${(background.baselineMs ?? 0).toFixed(0)} ms`;
}

/** Per node, its transfers out and in: done/total partitions and bytes, and its background pacing (`cluster status` during a transition). */
export function formatHandoffs(statuses: readonly MemberHandoff[]): string {
  const lines = ['handoffs (partitions done/total, bytes):'];
  for (const { id, handoff, background } of statuses) {
    if (handoff === undefined) {
      lines.push(`  ${id.padEnd(12)} unreachable`);
      continue;
    }
    const side = (direction: TransferRow['direction']): string => {
      const transfers = handoff.transfers.filter((transfer) => transfer.direction === direction);
      const bytes = transfers.reduce((sum, transfer) => sum + transfer.bytes, 0);
      return `${transfers.filter((transfer) => transfer.done).length}/${transfers.length} (${bytes} B)`;
    };
    lines.push(
      `  ${id.padEnd(12)} out ${side('outgoing').padEnd(22)} in ${side('incoming').padEnd(22)} ${formatPacing(background)}`.trimEnd(),
    );
  }
  return lines.join('\n');
}

/** A member's HTTP address (host:port, from the view) as a URL with the scheme of `node`: a cluster serves https on every node or on none (decision 0026). */
export function memberUrl(node: string, http: string): string {
  return `${parseNodeUrl(node).protocol}//${http}`;
}

/** Every member's /admin/status, through the HTTP address the view gives (undefined for one that does not answer). */
export async function memberStatuses(io: CommandIo, node: string, status: StatusDocument): Promise<MemberHandoff[]> {
  return Promise.all(
    status.members.map(async (member) => {
      if (member.id === status.id) return { id: member.id, handoff: status.handoff, background: status.background };
      if (member.http === undefined || member.http === null) return { id: member.id, handoff: undefined };
      const other = await adminCall<StatusDocument>(io, memberUrl(node, member.http), '/admin/status').catch(
        () => undefined,
      );
      return { id: member.id, handoff: other?.handoff, background: other?.background };
    }),
  );
}

/** Whether a status shows a transition under way (a member joining, leaving or removed). */
export function inTransition(status: StatusDocument): boolean {
  return status.members.some((member) => member.membership !== undefined && member.membership !== 'valid');
}

/** Runs `action`; prints its result as JSON or formatted; any failure is exit code 1 with the reason. */
async function runCommand<T>(
  io: CommandIo,
  args: MembershipArguments,
  name: string,
  action: () => Promise<T>,
  format: (result: T) => string,
): Promise<T | undefined> {
  try {
    const result = await action();
    io.stdout.write(`${args.json ? JSON.stringify(result, null, 2) : format(result)}\n`);
    return result;
  } catch (error) {
    io.stderr.write(`everwrite: cluster ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    io.setExitCode(1);
    return undefined;
  }
}

export async function runClusterJoin(
  seed: string,
  args: MembershipArguments,
  io: CommandIo = processIo,
): Promise<void> {
  const seedAddress = seed.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  await runCommand(
    io,
    args,
    'join',
    () =>
      adminCall<{ staged: PlanReport | { code: string } }>(io, args.node, '/admin/join', post({ seed: seedAddress })),
    (answer) => {
      const staged = answer.staged as Partial<PlanReport>;
      const plan =
        staged.claimant === undefined
          ? 'the join was committed before; the node is fetching the cluster view'
          : formatPlan(staged as PlanReport);
      return `${plan}\nthe node waits for the commit: run \`everwrite cluster plan\`, then \`everwrite cluster commit\``;
    },
  );
}

export async function runClusterLeave(
  node: string | undefined,
  args: MembershipArguments & { readonly wait?: boolean; readonly timeoutMs?: number },
  io: CommandIo = processIo,
): Promise<void> {
  const staged = await runCommand(
    io,
    args,
    'leave',
    () => adminCall<PlanReport>(io, args.node, '/admin/leave', post(node === undefined ? {} : { node })),
    formatPlan,
  );
  if (staged === undefined || args.wait !== true) return;
  const leaving = node ?? (await adminCall<StatusDocument>(io, args.node, '/admin/status').catch(() => undefined))?.id;
  if (leaving === undefined) return;
  io.stdout.write(`waiting for ${leaving} to leave: commit the plan (\`everwrite cluster commit\`)\n`);
  await runCommand(
    io,
    args,
    'leave --wait',
    () => waitForLeave(io, { ...args, wait: true, timeoutMs: args.timeoutMs ?? 3_600_000 }, leaving),
    () => `${leaving} has left the cluster`,
  );
}

/** Follows the claimant's status until `leaving` is no longer in its view; bounded by `timeoutMs`. */
async function waitForLeave(io: CommandIo, args: CommitArguments, leaving: string): Promise<void> {
  const bar = progressBar(io);
  const deadline = performance.now() + args.timeoutMs;
  const claimant = (await adminCall<PlanReport>(io, args.node, '/admin/plan')).claimant;
  const claimantStatus = await adminCall<StatusDocument>(io, args.node, '/admin/status');
  const claimantHttp = claimantStatus.members.find((member) => member.id === claimant)?.http;
  const watched = claimantHttp === undefined || claimantHttp === null ? args.node : memberUrl(args.node, claimantHttp);
  try {
    for (;;) {
      const status = await adminCall<StatusDocument>(io, watched, '/admin/status').catch(() => undefined);
      if (status !== undefined && !status.members.some((member) => member.id === leaving)) return;
      if (status?.handoff?.viewVersion !== undefined)
        bar.update(status.handoff.transfersKnownDone, status.handoff.transfersTotal);
      if (performance.now() >= deadline)
        throw new Error(
          `${leaving} is still a member after ${args.timeoutMs} ms; follow it with \`everwrite cluster status\``,
        );
      await sleep(pollIntervalMs);
    }
  } finally {
    bar.stop();
  }
}

export async function runClusterRemove(
  node: string,
  args: MembershipArguments,
  io: CommandIo = processIo,
): Promise<void> {
  await runCommand(
    io,
    args,
    'remove',
    () => adminCall<PlanReport>(io, args.node, '/admin/remove', post({ node })),
    formatPlan,
  );
}

export async function runClusterPlan(
  args: MembershipArguments & { readonly clear: boolean },
  io: CommandIo = processIo,
): Promise<void> {
  await runCommand(
    io,
    args,
    'plan',
    () => adminCall<PlanReport>(io, args.node, '/admin/plan', args.clear ? { method: 'DELETE' } : {}),
    formatPlan,
  );
}

export interface CommitArguments extends MembershipArguments {
  readonly wait: boolean;
  readonly timeoutMs: number;
}

export async function runClusterCommit(args: CommitArguments, io: CommandIo = processIo): Promise<void> {
  const committed = await runCommand(
    io,
    args,
    'commit',
    () => adminCall<CommitReport>(io, args.node, '/admin/commit', post({})),
    (report) =>
      [`committed view version ${report.version} (digest ${report.digest}):`, ...formatPreview(report.transition)].join(
        '\n',
      ),
  );
  if (committed === undefined || !args.wait) return;
  await runCommand(
    io,
    args,
    'commit --wait',
    () => waitForCompletion(io, args, committed.version + 1),
    (version) => `transition complete: view version ${version}`,
  );
}

/**
 * The bar, drawn on the command's stderr when that is a terminal: transfers known done out of the
 * transition's total. A pipe or a file gets nothing (scripts read the final line on stdout).
 */
export function progressBar(io: CommandIo): { update(done: number, total: number): void; stop(): void } {
  const stream = io.stderr;
  if (stream.isTTY !== true) return { update: () => undefined, stop: () => undefined };
  const cliProgress = createRequire(import.meta.url)('cli-progress') as {
    SingleBar: new (
      options: Record<string, unknown>,
      preset: unknown,
    ) => {
      start(total: number, value: number): void;
      setTotal(total: number): void;
      update(value: number): void;
      stop(): void;
    };
    Presets: { shades_classic: unknown };
  };
  const bar = new cliProgress.SingleBar(
    { stream, format: 'handoff |{bar}| {value}/{total} transfers', hideCursor: true, fps: 5 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (!started) bar.start(total, done);
      started = true;
      bar.setTotal(total);
      bar.update(done);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

/** Follows the node's status until its view reaches `version` (the transition completed); bounded by `timeoutMs`. */
async function waitForCompletion(io: CommandIo, args: CommitArguments, version: number): Promise<number> {
  const bar = progressBar(io);
  const deadline = performance.now() + args.timeoutMs;
  try {
    for (;;) {
      const status = await adminCall<StatusDocument>(io, args.node, '/admin/status').catch(() => undefined);
      if (status?.view !== undefined && status.view.version >= version && !inTransition(status))
        return status.view.version;
      if (status?.handoff !== undefined) bar.update(status.handoff.transfersKnownDone, status.handoff.transfersTotal);
      if (performance.now() >= deadline)
        throw new Error(
          `the transition did not complete within ${args.timeoutMs} ms; it goes on: follow it with \`everwrite cluster status\``,
        );
      await sleep(pollIntervalMs);
    }
  } finally {
    bar.stop();
  }
}

function parseTimeout(text: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new Error(`--timeout-ms must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

type Flags = { node: string; json?: boolean };
const common = (flags: Flags): MembershipArguments => ({ node: flags.node, json: flags.json === true });

/** Adds join, leave, remove, plan and commit under `everwrite cluster`. */
export function registerClusterMembershipCommands(cluster: Command): void {
  const withCommon = (command: Command): Command =>
    command.addOption(nodeOption('the node to ask')).option('--json', 'print the answer as JSON');
  withCommon(
    cluster
      .command('join <seed>')
      .description(
        'ask the new node at --node to join the cluster whose member serves HTTP at <seed> (host:port); it waits for the commit',
      ),
  ).action((seed: string, flags: Flags) => runClusterJoin(seed, common(flags)));
  withCommon(
    cluster
      .command('leave [node]')
      .description(
        'stage the leave of a member (default: the node at --node): it hands its partitions away, then exits',
      ),
  )
    .option(
      '--wait',
      'after staging, follow the handoff (a progress bar on a terminal) until the member has left; commit from another shell',
    )
    .option('--timeout-ms <ms>', 'with --wait, give up following after this long', '3600000')
    .action((node: string | undefined, flags: Flags & { wait?: boolean; timeoutMs: string }) =>
      runClusterLeave(node, { ...common(flags), wait: flags.wait === true, timeoutMs: parseTimeout(flags.timeoutMs) }),
    );
  withCommon(
    cluster
      .command('remove <node>')
      .description('stage the removal of a dead member: the others rebuild its partitions'),
  ).action((node: string, flags: Flags) => runClusterRemove(node, common(flags)));
  withCommon(cluster.command('plan').description('the staged changes and what committing them would move'))
    .option('--clear', 'drop the staged changes')
    .action((flags: Flags & { clear?: boolean }) => runClusterPlan({ ...common(flags), clear: flags.clear === true }));
  withCommon(
    cluster
      .command('commit')
      .description('commit the staged plan as one new view; the partitions move while the cluster serves'),
  )
    .option('--wait', 'follow the handoff (a progress bar on a terminal) until the transition completes')
    .option('--timeout-ms <ms>', 'with --wait, give up following after this long', '3600000')
    .action((flags: Flags & { wait?: boolean; timeoutMs: string }) =>
      runClusterCommit({ ...common(flags), wait: flags.wait === true, timeoutMs: parseTimeout(flags.timeoutMs) }),
    );
}
