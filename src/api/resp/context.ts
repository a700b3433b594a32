// Why: the state the command handlers read, named once: the frozen server context (service,
// options, logger, the command table, counters) and one Session per connection (protocol
// version, client name, ...). Handlers are plain functions of (server, session, args), so the hot
// path allocates no closure per command.
import type { Logger } from 'pino';
import type { KvService, WriteSink } from '../../runtime/service.ts';
import type { AddressRateLimiter } from '../../core/base/rate-limiter.ts';
import type { ResolvedRespServerOptions } from './options.ts';
import type { ProtocolVersion, Reply } from './reply.ts';
import type { RespMetrics } from './metrics.ts';
import type { UserEntry } from '../../core/protocol/messages.ts';
import type { AccessRule } from '../auth/access.ts';
import type { Authenticator } from '../auth/authenticator.ts';

/** One client connection's state, as CLIENT, HELLO and INFO see it. */
export interface Session {
  readonly id: number;
  protocol: ProtocolVersion;
  name: string;
  libraryName: string;
  libraryVersion: string;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly openedMs: number;
  lastActiveMs: number;
  lastCommand: string;
  /** Set by QUIT: the connection answers this command, then closes. */
  quitting: boolean;
  /** The user AUTH or HELLO ... AUTH logged in as (decision 0025); undefined before. */
  user: UserEntry | undefined;
  /** The client's IP: failed logins are limited per address. */
  readonly clientAddress: string;
}

/**
 * The wall clock in ms since the epoch, refreshed every `coarseClockIntervalMs` rather than read per
 * command (a clock read costs as much as a good part of the command's own work): what a session's
 * `lastActiveMs` is stamped with, as Redis stamps a client's last interaction with a cached time.
 * Never ahead of the real clock.
 */
export interface CoarseClock {
  readonly nowMs: number;
}

/** Counters for INFO stats; monotonic for the server's lifetime. */
export interface RespStats {
  connectionsReceived: number;
  connectionsRejected: number;
  commandsProcessed: number;
  protocolErrors: number;
}

export type CommandHandler = (
  server: RespServerContext,
  session: Session,
  args: readonly Buffer[],
) => Reply | Promise<Reply>;

/**
 * A command whose answer is OK once one write is acknowledged may start that write with
 * KvService.putInto and answer through `sink` (written: OK; failed: the error): no promise or
 * closure per command. It returns undefined then, or a reply (or its promise) when it answers
 * otherwise. Used only when the service has putInto; `run` serves the rest.
 */
export type WriteCommandHandler = (
  server: RespServerContext,
  session: Session,
  args: readonly Buffer[],
  sink: WriteSink,
) => Reply | Promise<Reply> | undefined;

/** One argument as COMMAND DOCS describes it (what redis-cli shows as hints). */
export interface ArgumentDoc {
  readonly name: string;
  readonly type: 'key' | 'string' | 'integer' | 'pure-token' | 'oneof' | 'block';
  readonly token?: string;
  readonly optional?: boolean;
  readonly multiple?: boolean;
  readonly arguments?: readonly ArgumentDoc[];
}

/** A command: what COMMAND reports about it, and its handler. Names are lower case. */
export interface CommandSpec {
  readonly name: string;
  /** Redis's convention: n > 0 exactly n arguments (with the name); n < 0 at least -n. */
  readonly arity: number;
  readonly flags: readonly string[];
  /** Who may run it (decision 0025; checked centrally by access.ts before the handler runs). */
  readonly access: AccessRule;
  /** Key positions (Redis's first key, last key, step; 0 0 0 when none; last -1 means to the end). */
  readonly firstKey: number;
  readonly lastKey: number;
  readonly step: number;
  readonly categories: readonly string[];
  readonly group: string;
  readonly summary: string;
  readonly since: string;
  readonly complexity: string;
  readonly arguments: readonly ArgumentDoc[];
  readonly run: CommandHandler;
  /** The sink path of a write command (see WriteCommandHandler); absent on most commands. */
  readonly runInto?: WriteCommandHandler;
}

export interface RespServerContext {
  readonly service: KvService;
  readonly options: ResolvedRespServerOptions;
  readonly logger: Logger;
  readonly commands: ReadonlyMap<string, CommandSpec>;
  readonly stats: RespStats;
  readonly sessions: ReadonlySet<Session>;
  /** Wall clock when the server started, in ms since the epoch (INFO uptime). */
  readonly startedMs: number;
  readonly clock: CoarseClock;
  /** Per-address request rate (decision 0013); may be shared with the node's HTTP front end. */
  readonly rateLimiter: AddressRateLimiter;
  /** Checks credentials once users exist (decision 0025); absent: every command is open. */
  readonly auth: Authenticator | undefined;
  /** Commands by outcome and latency, when the node gave a registry. */
  readonly metrics?: RespMetrics;
}
