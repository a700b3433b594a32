// Why: the connection commands every client library sends during its handshake (HELLO, AUTH,
// CLIENT SETNAME/SETINFO, SELECT) and the usual liveness probes (PING, ECHO). Until the first user
// exists they answer exactly as Redis does with no password configured, so unmodified clients
// connect: AUTH with a password alone gets Redis's "no password configured" error (clients such as
// ioredis recognise it and go on), AUTH as the default user succeeds, any other user is refused.
// Once users exist (decision 0025), AUTH user pass, AUTH pass (the user "default") and HELLO 3 AUTH
// user pass log the connection in as Redis 6 does, with Redis's WRONGPASS on failure.
import type { CommandSpec, RespServerContext, Session } from '../context.ts';
import { notAnInteger, quoteArgument, syntaxError, unknownSubcommand } from '../errors.ts';
import { ErrorReply, MapReply, SimpleString, VerbatimReply, okReply, pongReply } from '../reply.ts';
import type { Reply } from '../reply.ts';

/** The Redis version whose protocol and command behaviour this front end follows (HELLO, INFO). */
export const compatibleRedisVersion = '7.0.0';

const noPasswordConfigured = new ErrorReply(
  'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
);
const wrongPassword = new ErrorReply('WRONGPASS invalid username-password pair or user is disabled.');

function lower(raw: Buffer | undefined): string {
  return raw === undefined ? '' : raw.toString('latin1').toLowerCase();
}

/** Redis's rule for client names and library fields: printable ASCII, no spaces. */
function isPlainName(raw: Buffer): boolean {
  for (const byte of raw) if (byte < 33 || byte > 126) return false;
  return true;
}

function ping(_server: RespServerContext, session: Session, args: readonly Buffer[]): Reply {
  if (args.length > 2) return new ErrorReply("ERR wrong number of arguments for 'ping' command");
  return args.length === 2 ? (args[1] as Buffer) : pongReply;
}

function echo(_server: RespServerContext, _session: Session, args: readonly Buffer[]): Reply {
  return args[1] as Buffer;
}

function select(_server: RespServerContext, _session: Session, args: readonly Buffer[]): Reply {
  const text = (args[1] as Buffer).toString('latin1');
  if (!/^-?[0-9]{1,18}$/.test(text)) return notAnInteger;
  return Number(text) === 0 ? okReply : new ErrorReply('ERR DB index is out of range');
}

function quit(_server: RespServerContext, session: Session): Reply {
  session.quitting = true;
  return okReply;
}

/** Null when the credentials are accepted (no password is configured: the default user with any password). */
function checkCredentialsWithoutUsers(args: readonly Buffer[]): ErrorReply | null {
  if (args.length === 1) return noPasswordConfigured;
  return (args[0] as Buffer).toString('utf8') === 'default' ? null : wrongPassword;
}

/**
 * Logs the session in with `args` ([password] as the user "default", or [user, password]); null
 * when it succeeded. Without users, Redis's answers with no password configured.
 */
async function logIn(server: RespServerContext, session: Session, args: readonly Buffer[]): Promise<ErrorReply | null> {
  const auth = server.auth;
  if (auth === undefined || !auth.required) return checkCredentialsWithoutUsers(args);
  const name = args.length === 1 ? 'default' : (args[0] as Buffer).toString('utf8');
  const password = (args[args.length - 1] as Buffer).toString('utf8');
  const result = await auth.login(name, password, session.clientAddress, 'resp');
  if (result.ok) {
    session.user = result.user;
    return null;
  }
  if (result.code === 'EVERWRITE_AUTH_RATE_LIMITED') return new ErrorReply(`BUSY ${result.code}: ${result.message}`);
  return wrongPassword;
}

async function auth(server: RespServerContext, session: Session, args: readonly Buffer[]): Promise<Reply> {
  if (args.length > 3) return syntaxError;
  return (await logIn(server, session, args.slice(1))) ?? okReply;
}

const helloNeedsAuth = new ErrorReply(
  'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
);

function helloMap(session: Session): MapReply {
  return new MapReply([
    ['server', 'everwrite'],
    ['version', compatibleRedisVersion],
    ['proto', session.protocol],
    ['id', session.id],
    ['mode', 'standalone'],
    ['role', 'master'],
    ['modules', []],
  ]);
}

/** HELLO [protover [AUTH username password] [SETNAME clientname]]: checks everything, then applies it. */
async function hello(server: RespServerContext, session: Session, args: readonly Buffer[]): Promise<Reply> {
  let protocol = session.protocol;
  if (args.length >= 2) {
    const text = (args[1] as Buffer).toString('latin1');
    if (!/^[0-9]{1,9}$/.test(text)) return new ErrorReply('ERR Protocol version is not an integer or out of range');
    const requested = Number(text);
    if (requested !== 2 && requested !== 3) return new ErrorReply('NOPROTO unsupported protocol version');
    protocol = requested;
  }
  let name: Buffer | undefined;
  let credentials: readonly Buffer[] | undefined;
  for (let index = 2; index < args.length; index += 1) {
    const option = lower(args[index]);
    if (option === 'auth' && index + 2 < args.length) {
      credentials = args.slice(index + 1, index + 3);
      index += 2;
    } else if (option === 'setname' && index + 1 < args.length) {
      name = args[index + 1] as Buffer;
      if (!isPlainName(name))
        return new ErrorReply('ERR Client names cannot contain spaces, newlines or special characters.');
      index += 1;
    } else {
      return new ErrorReply(`ERR Syntax error in HELLO option '${quoteArgument(args[index] as Buffer)}'`);
    }
  }
  if (credentials !== undefined) {
    const refused = await logIn(server, session, credentials);
    if (refused !== null) return refused;
  } else if (server.auth?.required === true && session.user === undefined) {
    return helloNeedsAuth;
  }
  session.protocol = protocol;
  if (name !== undefined) session.name = name.toString('latin1');
  return helloMap(session);
}

/** One line of CLIENT LIST / CLIENT INFO, in Redis's field=value form (the fields this node knows). */
export function describeClient(session: Session, nowMs: number): string {
  const ageSeconds = Math.floor((nowMs - session.openedMs) / 1000);
  const idleSeconds = Math.floor((nowMs - session.lastActiveMs) / 1000);
  return (
    `id=${session.id} addr=${session.remoteAddress} laddr=${session.localAddress} name=${session.name} age=${ageSeconds} ` +
    `idle=${idleSeconds} db=0 cmd=${session.lastCommand} lib-name=${session.libraryName} lib-ver=${session.libraryVersion} resp=${session.protocol}\n`
  );
}

const clientHelp = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ID',
  '    Return the ID of the current connection.',
  'GETNAME',
  '    Return the name of the current connection.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'SETINFO <LIB-NAME|LIB-VER> <value>',
  '    Set client library name or version.',
  'INFO',
  '    Return information about the current client connection.',
  'LIST',
  '    Return information about client connections.',
  'HELP',
  '    Print this help.',
].map((line) => new SimpleString(line));

function clientSetInfo(session: Session, args: readonly Buffer[]): Reply {
  if (args.length !== 4) return new ErrorReply("ERR wrong number of arguments for 'client|setinfo' command");
  const attribute = lower(args[2]);
  const value = args[3] as Buffer;
  if (attribute !== 'lib-name' && attribute !== 'lib-ver')
    return new ErrorReply(`ERR Unrecognized option '${quoteArgument(args[2] as Buffer)}'`);
  if (!isPlainName(value) && value.length > 0)
    return new ErrorReply(`ERR ${attribute} cannot contain spaces, newlines or special characters.`);
  if (attribute === 'lib-name') session.libraryName = value.toString('latin1');
  else session.libraryVersion = value.toString('latin1');
  return okReply;
}

function client(server: RespServerContext, session: Session, args: readonly Buffer[]): Reply {
  const subcommand = lower(args[1]);
  const arity = (count: number): ErrorReply | undefined =>
    args.length === count
      ? undefined
      : new ErrorReply(`ERR wrong number of arguments for 'client|${subcommand}' command`);
  switch (subcommand) {
    case 'id':
      return arity(2) ?? session.id;
    case 'getname':
      return arity(2) ?? (session.name === '' ? null : session.name);
    case 'setname': {
      const refused = arity(3);
      if (refused !== undefined) return refused;
      const name = args[2] as Buffer;
      if (!isPlainName(name) && name.length > 0)
        return new ErrorReply('ERR Client names cannot contain spaces, newlines or special characters.');
      session.name = name.toString('latin1');
      return okReply;
    }
    case 'setinfo':
      return clientSetInfo(session, args);
    case 'info':
      return arity(2) ?? new VerbatimReply(describeClient(session, Date.now()));
    case 'list': {
      const nowMs = Date.now();
      return new VerbatimReply([...server.sessions].map((each) => describeClient(each, nowMs)).join(''));
    }
    case 'help':
      return clientHelp;
    default:
      return unknownSubcommand('client', args[1] as Buffer);
  }
}

export const connectionCommands: readonly CommandSpec[] = [
  {
    name: 'ping',
    access: 'user',
    arity: -1,
    flags: ['fast'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['@fast', '@connection'],
    group: 'connection',
    since: '1.0.0',
    complexity: 'O(1)',
    summary: 'Returns PONG, or the message given.',
    arguments: [{ name: 'message', type: 'string', optional: true }],
    run: ping,
  },
  {
    name: 'echo',
    access: 'user',
    arity: 2,
    flags: ['fast'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['@fast', '@connection'],
    group: 'connection',
    since: '1.0.0',
    complexity: 'O(1)',
    summary: 'Returns the message given.',
    arguments: [{ name: 'message', type: 'string' }],
    run: echo,
  },
  {
    name: 'select',
    access: 'user',
    arity: 2,
    flags: ['loading', 'stale', 'fast'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['@keyspace', '@fast', '@connection'],
    group: 'connection',
    since: '1.0.0',
    complexity: 'O(1)',
    summary: 'Selects database 0, the only one.',
    arguments: [{ name: 'index', type: 'integer' }],
    run: select,
  },
  {
    name: 'quit',
    access: 'public',
    arity: -1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['@fast', '@connection'],
    group: 'connection',
    since: '1.0.0',
    complexity: 'O(1)',
    summary: 'Closes the connection after answering OK.',
    arguments: [],
    run: quit,
  },
  {
    name: 'auth',
    access: 'public',
    arity: -2,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['@fast', '@connection'],
    group: 'connection',
    since: '1.0.0',
    complexity: 'O(1)',
    summary:
      'Logs the connection in as a user (the user "default" when only a password is given); with no users, only the default user is accepted.',
    arguments: [
      { name: 'username', type: 'string', optional: true },
      { name: 'password', type: 'string' },
    ],
    run: auth,
  },
  {
    name: 'hello',
    access: 'public',
    arity: -1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['@fast', '@connection'],
    group: 'connection',
    since: '6.0.0',
    complexity: 'O(1)',
    summary: 'Handshakes: selects RESP2 or RESP3, optionally authenticates and names the connection.',
    arguments: [
      {
        name: 'arguments',
        type: 'block',
        optional: true,
        arguments: [
          { name: 'protover', type: 'integer' },
          {
            name: 'username-password',
            type: 'block',
            token: 'AUTH',
            optional: true,
            arguments: [
              { name: 'username', type: 'string' },
              { name: 'password', type: 'string' },
            ],
          },
          { name: 'clientname', type: 'string', token: 'SETNAME', optional: true },
        ],
      },
    ],
    run: hello,
  },
  {
    name: 'client',
    access: 'user',
    arity: -2,
    flags: ['loading', 'stale'],
    firstKey: 0,
    lastKey: 0,
    step: 0,
    categories: ['@slow', '@connection'],
    group: 'connection',
    since: '2.4.0',
    complexity: 'O(1), LIST O(clients)',
    summary: 'CLIENT ID, GETNAME, SETNAME, SETINFO, INFO, LIST, HELP.',
    arguments: [
      { name: 'subcommand', type: 'string' },
      { name: 'arguments', type: 'string', optional: true, multiple: true },
    ],
    run: client,
  },
];
