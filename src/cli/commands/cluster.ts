// Why: an operator must see the cluster as a node holds it, not as a planner imagines it:
// `everwrite cluster status` is the `nodetool status` table (who the members are, where, zone,
// weight, liveness, partitions owned and share of the ring) with the view's version and any
// conflict, and `everwrite cluster ring` lists the live ring's owners. Both read one node's
// /admin/status and /admin/ring (docs/API.md); the formatting is pure and exported for tests.
import type { Command } from 'commander';
import { CliFailure, exitCodeForHttpStatus, exitCodeOf, messageOf } from '../exit-codes.ts';
import { formatFailure, parseNodeUrl } from '../format.ts';
import { jsonOption, nodeOption, withCredentials } from '../options.ts';
import { processIo, type CommandIo } from '../command-io.ts';
import { formatHandoffs, inTransition, memberStatuses } from './cluster-membership.ts';

interface MemberRow {
  readonly id: string;
  readonly address?: string;
  readonly peer?: string;
  readonly http?: string | null;
  readonly zone?: string | null;
  readonly weight?: number;
  readonly state?: string;
  readonly membership?: string;
  readonly partitions?: number;
  readonly share?: number;
  readonly lastHeardAgoMs?: number;
}

interface StatusDocument {
  readonly id: string;
  readonly members: readonly MemberRow[];
  readonly view?: {
    readonly version: number;
    readonly partitionCount: number;
    readonly digest: string;
    readonly conflict: { readonly reason: string } | null;
  };
}

interface RingDocument {
  readonly version: number;
  readonly partitionCount: number;
  readonly digest?: string;
  readonly members: ReadonlyArray<{ readonly id: string; readonly zone?: string; readonly weight?: number }>;
  readonly owners: readonly number[];
}

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const orDash = (value: string | number | null | undefined): string =>
  value === undefined || value === null || value === '' ? '-' : String(value);

/** The status table: one row per member, then the view line (and the conflict, if any). */
export function formatClusterStatus(status: StatusDocument): string {
  const rows = status.members.map((member) => [
    `${member.id}${member.id === status.id ? '*' : ''}`,
    orDash(member.peer ?? member.address),
    orDash(member.http),
    orDash(member.zone),
    orDash(member.weight ?? 1),
    orDash(
      member.membership === undefined || member.membership === 'valid'
        ? member.state
        : `${member.state ?? '-'} (${member.membership})`,
    ),
    orDash(member.partitions),
    member.share === undefined ? '-' : `${(member.share * 100).toFixed(1)}%`,
    member.lastHeardAgoMs === undefined ? '-' : `${member.lastHeardAgoMs} ms`,
  ]);
  const lines = [table(['id', 'peer', 'http', 'zone', 'weight', 'state', 'partitions', 'ring', 'last heard'], rows)];
  const view = status.view;
  if (view !== undefined)
    lines.push(
      `view version ${view.version}, ${view.partitionCount} partitions, digest ${view.digest} (as seen by ${status.id}, marked *)`,
    );
  if (view?.conflict) lines.push(`CONFLICT: ${status.id} refuses to serve: ${view.conflict.reason}`);
  return lines.join('\n');
}

/** The live ring: its version, then each partition's owner. */
export function formatClusterRing(ring: RingDocument): string {
  const rows = ring.owners.map((owner, partition) => {
    const member = ring.members[owner];
    return [String(partition), orDash(member?.id), orDash(member?.zone)];
  });
  return [
    `ring version ${ring.version}, ${ring.partitionCount} partitions${ring.digest === undefined ? '' : `, digest ${ring.digest}`}`,
    table(['partition', 'owner', 'zone'], rows),
  ].join('\n');
}

async function fetchJson(io: CommandIo, node: string, path: string): Promise<unknown> {
  const url = new URL(path, parseNodeUrl(node));
  const response = await fetch(url, { ...withCredentials(), signal: AbortSignal.timeout(io.requestTimeoutMs) });
  const text = await response.text();
  if (!response.ok)
    throw new CliFailure(`${url.href} answered ${response.status}: ${text}`, exitCodeForHttpStatus(response.status));
  return JSON.parse(text);
}

export interface ClusterArguments {
  readonly node: string;
  readonly json: boolean;
}

/** The status table; during a transition, each member's handoffs in and out too (asked of each member). */
export function runClusterStatus(args: ClusterArguments, io: CommandIo = processIo): Promise<void> {
  return showAdminDocument(args, io, 'status', async (document) => {
    const table = formatClusterStatus(document as StatusDocument);
    const status = document as Parameters<typeof inTransition>[0];
    return inTransition(status) ? `${table}\n${formatHandoffs(await memberStatuses(io, args.node, status))}` : table;
  });
}

export function runClusterRing(args: ClusterArguments, io: CommandIo = processIo): Promise<void> {
  return showAdminDocument(args, io, 'ring', (document) => formatClusterRing(document as RingDocument));
}

/** Fetches `/admin/<name>` from the node and prints it as JSON or formatted; a failure ends with its exit code (exit-codes.ts). */
async function showAdminDocument(
  args: ClusterArguments,
  io: CommandIo,
  name: 'status' | 'ring',
  format: (document: unknown) => string | Promise<string>,
): Promise<void> {
  try {
    const document = await fetchJson(io, args.node, `/admin/${name}`);
    io.stdout.write(`${args.json ? JSON.stringify(document, null, 2) : await format(document)}\n`);
  } catch (error) {
    io.stderr.write(formatFailure(`cluster ${name}: ${messageOf(error)}`));
    io.setExitCode(exitCodeOf(error));
  }
}

/** Adds `everwrite cluster status|ring`; returns the `cluster` command so other modules add theirs under it. */
export function registerClusterCommands(program: Command): Command {
  const cluster = program
    .command('cluster')
    .description('the cluster as a node holds it: its members and the live ring');
  cluster
    .command('status')
    .description(
      'members: peer and HTTP address, zone, weight, state, partitions owned, share of the ring; the view version and any conflict',
    )
    .addOption(nodeOption('the node to ask'))
    .addOption(jsonOption('/admin/status'))
    .action((flags: { node: string; json?: boolean }) =>
      runClusterStatus({ node: flags.node, json: flags.json === true }),
    );
  cluster
    .command('ring')
    .description("the live ring (not the planner): each partition's owner, with the ring's version and digest")
    .addOption(nodeOption('the node to ask'))
    .addOption(jsonOption('/admin/ring'))
    .action((flags: { node: string; json?: boolean }) =>
      runClusterRing({ node: flags.node, json: flags.json === true }),
    );
  return cluster;
}
