// Why: error replies are API (docs/ARCHITECTURE.md habit 4). A coded EverwriteError becomes
// "-<RESP prefix> <CODE>: <message>" with the prefix from the one error table, so a Redis client
// sees the same code as an HTTP client (e.g. "-TRYAGAIN EVERWRITE_QUORUM_NOT_MET: ..."). Anything
// else thrown is a bug: logged with its stack, answered without internals. Redis's own wording is
// kept for the protocol-level errors clients and tools recognise.
import type { Logger } from 'pino';
import { errorTable, isEverwriteError } from '../../core/base/errors.ts';
import { ErrorReply } from './reply.ts';

/** The reply for anything a command threw. */
export function errorReplyFor(thrown: unknown, logger: Logger, command: string): ErrorReply {
  if (isEverwriteError(thrown))
    return new ErrorReply(`${errorTable[thrown.code].resp} ${thrown.code}: ${thrown.message}`);
  logger.error({ err: thrown, command }, 'resp command failed unexpectedly');
  return new ErrorReply('ERR EVERWRITE_INTERNAL: internal error; the node logged the details');
}

/** Arguments echoed in an error are shortened, so an error reply stays one short line. */
export function quoteArgument(raw: Uint8Array, charactersMax = 128): string {
  const text = Buffer.from(raw.buffer, raw.byteOffset, Math.min(raw.byteLength, charactersMax)).toString('latin1');
  return text.replace(/[\r\n]/g, ' ');
}

export function unknownCommand(args: readonly Buffer[]): ErrorReply {
  const shown = args
    .slice(1, 9)
    .map((arg) => `'${quoteArgument(arg)}' `)
    .join('');
  return new ErrorReply(
    `ERR unknown command '${quoteArgument(args[0] ?? Buffer.alloc(0))}', with args beginning with: ${shown}`,
  );
}

export function wrongArity(name: string): ErrorReply {
  return new ErrorReply(`ERR wrong number of arguments for '${name}' command`);
}

export function unknownSubcommand(command: string, subcommand: Uint8Array): ErrorReply {
  return new ErrorReply(`ERR unknown subcommand '${quoteArgument(subcommand)}'. Try ${command.toUpperCase()} HELP.`);
}

export const syntaxError = new ErrorReply('ERR syntax error');
export const notAnInteger = new ErrorReply('ERR value is not an integer or out of range');
