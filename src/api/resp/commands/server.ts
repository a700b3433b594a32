// Why: the introspection commands tools call before doing anything: redis-cli asks COMMAND DOCS
// for its hints, client libraries ask COMMAND/INFO, redis-benchmark asks CONFIG GET save and
// appendonly. They answer from this node's command table and options, never inventing state:
// INFO says what Everwrite knows (connections, counters, the bucket and its properties, the
// cluster members) and CONFIG GET answers a few fixed, harmless parameters.
import type { ArgumentDoc, CommandSpec, RespServerContext, Session } from '../context.ts';
import { quoteArgument, unknownSubcommand, wrongArity } from '../errors.ts';
import { ErrorReply, MapReply, SetReply, SimpleString, VerbatimReply } from '../reply.ts';
import type { Reply } from '../reply.ts';
import { compatibleRedisVersion } from './connection.ts';

function lower(raw: Buffer | undefined): string {
  return raw === undefined ? '' : raw.toString('latin1').toLowerCase();
}

function symbols(names: readonly string[]): SetReply {
  return new SetReply(names.map((name) => new SimpleString(name)));
}

/** One COMMAND entry in Redis 7's shape: name, arity, flags, key positions, ACL categories, tips, key specs, subcommands. */
function commandEntry(spec: CommandSpec): Reply {
  return [
    spec.name,
    spec.arity,
    symbols(spec.flags),
    spec.firstKey,
    spec.lastKey,
    spec.step,
    symbols(spec.categories),
    [],
    [],
    [],
  ];
}

function argumentDoc(argument: ArgumentDoc): MapReply {
  const flags = [
    ...(argument.optional === true ? ['optional'] : []),
    ...(argument.multiple === true ? ['multiple'] : []),
  ];
  const entries: Array<readonly [Reply, Reply]> = [
    ['name', argument.name],
    ['type', argument.type],
  ];
  if (argument.token !== undefined) entries.push(['token', argument.token]);
  if (flags.length > 0) entries.push(['flags', flags.map((flag) => new SimpleString(flag))]);
  if (argument.arguments !== undefined) entries.push(['arguments', argument.arguments.map(argumentDoc)]);
  return new MapReply(entries);
}

function commandDocs(spec: CommandSpec): MapReply {
  return new MapReply([
    ['summary', spec.summary],
    ['since', spec.since],
    ['group', spec.group],
    ['complexity', spec.complexity],
    ['arguments', spec.arguments.map(argumentDoc)],
  ]);
}

const commandHelp = [
  'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  '(no subcommand)',
  '    Return details about all commands.',
  'COUNT',
  '    Return the total number of commands in this server.',
  'LIST',
  '    Return a list of all commands in this server.',
  'INFO [<command-name> ...]',
  '    Return details about the given commands, or all of them.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about the given commands, or all of them.',
  'HELP',
  '    Print this help.',
].map((line) => new SimpleString(line));

function selectedSpecs(server: RespServerContext, names: readonly Buffer[]): Array<CommandSpec | undefined> {
  if (names.length === 0) return [...server.commands.values()];
  return names.map((name) => server.commands.get(lower(name)));
}

function command(server: RespServerContext, _session: Session, args: readonly Buffer[]): Reply {
  if (args.length === 1) return [...server.commands.values()].map(commandEntry);
  const subcommand = lower(args[1]);
  switch (subcommand) {
    case 'count':
      return args.length === 2 ? server.commands.size : wrongArity('command|count');
    case 'list':
      return args.length === 2
        ? [...server.commands.keys()]
        : new ErrorReply('ERR COMMAND LIST filters are not supported by Everwrite');
    case 'info':
      return selectedSpecs(server, args.slice(2)).map((spec) => (spec === undefined ? null : commandEntry(spec)));
    case 'docs': {
      // Unknown names are left out, as Redis does.
      const specs = selectedSpecs(server, args.slice(2)).filter((spec) => spec !== undefined);
      return new MapReply(specs.map((spec) => [spec.name, commandDocs(spec)] as const));
    }
    case 'help':
      return commandHelp;
    default:
      return unknownSubcommand('command', args[1] as Buffer);
  }
}

/** Matches Redis-style glob patterns (`*`, `?`, `\x`), case-insensitively, as CONFIG GET does. */
export function globMatches(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  let pi = 0;
  let ti = 0;
  let starPattern = -1;
  let starText = 0;
  while (ti < t.length) {
    const escaped = p[pi] === '\\' && pi + 1 < p.length;
    const literal = escaped ? p[pi + 1] : p[pi];
    if (!escaped && p[pi] === '*') {
      starPattern = pi;
      starText = ti;
      pi += 1;
    } else if (pi < p.length && ((!escaped && literal === '?') || literal === t[ti])) {
      pi += escaped ? 2 : 1;
      ti += 1;
    } else if (starPattern >= 0) {
      pi = starPattern + 1;
      starText += 1;
      ti = starText;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi += 1;
  return pi === p.length;
}

/** The parameters CONFIG GET answers: fixed facts of this front end, chosen so tools take their quiet paths. */
function configParameters(server: RespServerContext): ReadonlyArray<readonly [string, string]> {
  const { options } = server;
  return [
    ['save', ''],
    ['appendonly', 'no'],
    ['databases', '1'],
    ['maxmemory', '0'],
    ['maxmemory-policy', 'noeviction'],
    ['maxclients', String(options.connectionsMax)],
    ['timeout', '0'],
    ['port', String(options.port)],
    ['bind', options.host],
    ['requirepass', ''],
    ['protected-mode', 'no'],
    ['cluster-enabled', 'no'],
    ['proto-max-bulk-len', String(options.argumentBytesMax)],
    ['client-query-buffer-limit', String(options.commandBytesMax)],
    ['notify-keyspace-events', ''],
  ];
}

function config(server: RespServerContext, _session: Session, args: readonly Buffer[]): Reply {
  const subcommand = lower(args[1]);
  if (subcommand === 'get') {
    if (args.length < 3) return wrongArity('config|get');
    const patterns = args.slice(2).map((pattern) => pattern.toString('latin1'));
    const matching = configParameters(server).filter(([name]) =>
      patterns.some((pattern) => globMatches(pattern, name)),
    );
    return new MapReply(matching);
  }
  if (subcommand === 'set' || subcommand === 'rewrite' || subcommand === 'resetstat') {
    return new ErrorReply(
      `ERR CONFIG ${quoteArgument(args[1] as Buffer).toUpperCase()} is not supported by Everwrite; configure the node instead`,
    );
  }
  if (subcommand === 'help')
    return [
      new SimpleString('CONFIG GET <pattern> [<pattern> ...]'),
      new SimpleString('    Return parameters matching the glob-like <pattern>.'),
    ];
  return unknownSubcommand('config', args[1] as Buffer);
}

async function keyspaceLines(server: RespServerContext): Promise<string[]> {
  const { bucket, keyMapping } = server.options;
  const lines = [`everwrite_bucket:${bucket}`, `everwrite_key_mapping:${keyMapping}`];
  try {
    const props = await server.service.getBucketProps(bucket);
    lines.push(
      `everwrite_bucket_props:n=${props.n},r=${props.r},w=${props.w},resolver=${props.resolver},durability=${props.durability}`,
    );
  } catch {
    lines.push('everwrite_bucket_props:unavailable');
  }
  return lines;
}

function clusterLines(server: RespServerContext): string[] {
  const lines = ['cluster_enabled:0'];
  try {
    const status = server.service.status();
    lines.push(`everwrite_node_id:${status.id}`, `everwrite_members:${status.members.length}`);
    lines.push(`everwrite_members_up:${status.members.filter((member) => member.state === 'up').length}`);
  } catch {
    lines.push('everwrite_members:unavailable');
  }
  return lines;
}

const infoSections = ['server', 'clients', 'persistence', 'stats', 'replication', 'cluster', 'keyspace'] as const;

async function sectionLines(server: RespServerContext, section: (typeof infoSections)[number]): Promise<string[]> {
  const { stats, options } = server;
  const uptimeSeconds = Math.floor((Date.now() - server.startedMs) / 1000);
  switch (section) {
    case 'server':
      return [
        `redis_version:${compatibleRedisVersion}`,
        'redis_mode:standalone',
        'everwrite_front_end:resp',
        `process_id:${process.pid}`,
        `tcp_port:${options.port}`,
        `uptime_in_seconds:${uptimeSeconds}`,
        `uptime_in_days:${Math.floor(uptimeSeconds / 86_400)}`,
      ];
    case 'clients':
      return [`connected_clients:${server.sessions.size}`, `maxclients:${options.connectionsMax}`];
    case 'persistence':
      return ['loading:0'];
    case 'stats':
      return [
        `total_connections_received:${stats.connectionsReceived}`,
        `total_commands_processed:${stats.commandsProcessed}`,
        `rejected_connections:${stats.connectionsRejected}`,
        `total_protocol_errors:${stats.protocolErrors}`,
      ];
    case 'replication':
      return ['role:master', 'connected_slaves:0'];
    case 'cluster':
      return clusterLines(server);
    case 'keyspace':
      return keyspaceLines(server);
  }
}

async function info(server: RespServerContext, _session: Session, args: readonly Buffer[]): Promise<Reply> {
  const asked = args.slice(1).map(lower);
  const all = asked.length === 0 || asked.some((name) => name === 'all' || name === 'everything' || name === 'default');
  const chosen = infoSections.filter((section) => all || asked.includes(section));
  const blocks: string[] = [];
  for (const section of chosen) {
    const title = section.charAt(0).toUpperCase() + section.slice(1);
    blocks.push([`# ${title}`, ...(await sectionLines(server, section))].join('\r\n'));
  }
  return new VerbatimReply(blocks.length === 0 ? '' : `${blocks.join('\r\n\r\n')}\r\n`);
}

export const serverCommands: readonly CommandSpec[] = [
  {
    name: 'info',
    access: 'admin',
    arity: -1,
    flags: ['loading', 'stale'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['@slow', '@dangerous'],
    group: 'server',
    since: '1.0.0',
    complexity: 'O(1)',
    summary:
      'Returns information about this node: server, clients, persistence, stats, replication, cluster, keyspace.',
    arguments: [{ name: 'section', type: 'string', optional: true, multiple: true }],
    run: info,
  },
  {
    name: 'command',
    access: 'user',
    arity: -1,
    flags: ['loading', 'stale'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['@slow', '@connection'],
    group: 'server',
    since: '2.8.13',
    complexity: 'O(N) commands',
    summary: 'Returns details about commands: COUNT, LIST, INFO, DOCS.',
    arguments: [
      { name: 'subcommand', type: 'string', optional: true },
      { name: 'command-name', type: 'string', optional: true, multiple: true },
    ],
    run: command,
  },
  {
    name: 'config',
    access: 'admin',
    arity: -2,
    flags: ['admin', 'noscript', 'loading', 'stale'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['@admin', '@slow', '@dangerous'],
    group: 'server',
    since: '2.0.0',
    complexity: 'O(N) parameters',
    summary: 'CONFIG GET answers a few fixed parameters; CONFIG SET is refused.',
    arguments: [
      { name: 'subcommand', type: 'string' },
      { name: 'parameter', type: 'string', optional: true, multiple: true },
    ],
    run: config,
  },
];
