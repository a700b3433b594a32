// Why: one table of every command this front end speaks, so dispatch, arity checks, key positions
// (for ordering a connection's commands on the same key) and COMMAND's answers cannot drift apart.
import type { CommandSpec, RespServerContext, Session } from '../context.ts';
import type { WriteSink } from '../../../runtime/service.ts';
import { unknownCommand, wrongArity } from '../errors.ts';
import type { Reply } from '../reply.ts';
import { connectionCommands } from './connection.ts';
import { dataCommands } from './data.ts';
import { readModifyWriteCommands } from './read-modify-write.ts';
import { keyspaceCommands } from './keyspace.ts';
import { serverCommands } from './server.ts';
import { refuseCommand } from '../access.ts';

export function buildCommandTable(): ReadonlyMap<string, CommandSpec> {
  const table = new Map<string, CommandSpec>();
  for (const spec of [
    ...dataCommands,
    ...readModifyWriteCommands,
    ...connectionCommands,
    ...serverCommands,
    ...keyspaceCommands,
  ])
    table.set(spec.name, Object.freeze(spec));
  return table;
}

/** ASCII letters to lower case: a byte OR 0x20 (the bytes compared below are all letters). */
const lowerCaseBit = 0x20;

/**
 * The table entry for a command name as sent (any case), or undefined. GET and SET, nearly every
 * command a client sends, are recognised from their bytes without building a string.
 */
export function lookupCommand(server: RespServerContext, name: Buffer): CommandSpec | undefined {
  if (
    name.length === 3 &&
    ((name[1] as number) | lowerCaseBit) === 0x65 &&
    ((name[2] as number) | lowerCaseBit) === 0x74
  ) {
    const first = (name[0] as number) | lowerCaseBit;
    if (first === 0x67) return server.commands.get('get');
    if (first === 0x73) return server.commands.get('set');
  }
  return server.commands.get(name.toString('latin1').toLowerCase());
}

/**
 * The raw key arguments of a command, by its key positions; empty when it names none (or its
 * arity is wrong, which it will answer without touching a key).
 */
export function keyArguments(spec: CommandSpec, args: readonly Buffer[]): Buffer[] {
  return mapKeyArguments(spec, args, keyItself, undefined);
}

function keyItself(raw: Buffer): Buffer {
  return raw;
}

/**
 * `map(key, context)` of each key argument, in one array sized up front: a pipelined connection
 * computes the ordering keys of most commands it reads, and an array grown by push takes 17 slots.
 */
export function mapKeyArguments<T, C>(
  spec: CommandSpec,
  args: readonly Buffer[],
  map: (raw: Buffer, context: C) => T,
  context: C,
): T[] {
  if (spec.firstKey === 0) return [];
  const last = Math.min(spec.lastKey < 0 ? args.length + spec.lastKey : spec.lastKey, args.length - 1);
  if (last < spec.firstKey) return [];
  const keys = new Array<T>(Math.floor((last - spec.firstKey) / spec.step) + 1);
  let count = 0;
  for (let index = spec.firstKey; index <= last; index += spec.step)
    keys[count++] = map(args[index] as Buffer, context);
  return keys;
}

/** The answer to a command that may not run: refused access (access.ts), unknown, or the wrong arity; undefined when it may. */
function refusal(
  server: RespServerContext,
  session: Session,
  spec: CommandSpec | undefined,
  args: readonly Buffer[],
): Reply | undefined {
  if (server.auth !== undefined) {
    const refused = refuseCommand(server, session, spec, args);
    if (refused !== undefined) return refused;
  }
  if (spec === undefined) return unknownCommand(args);
  if (spec.arity > 0 ? args.length !== spec.arity : args.length < -spec.arity) return wrongArity(spec.name);
  return undefined;
}

/** Checks access (access.ts) and arity and runs the command; a throw is left to the caller (it owns error reporting). */
export function runCommand(
  server: RespServerContext,
  session: Session,
  spec: CommandSpec | undefined,
  args: readonly Buffer[],
): Reply | Promise<Reply> {
  return refusal(server, session, spec, args) ?? (spec as CommandSpec).run(server, session, args);
}

/** Whether the command answers through a write sink here (see WriteCommandHandler): it has the path and the service too. */
export function runsInto(
  server: RespServerContext,
  spec: CommandSpec | undefined,
): spec is CommandSpec & {
  readonly runInto: NonNullable<CommandSpec['runInto']>;
} {
  return spec?.runInto !== undefined && server.service.putInto !== undefined;
}

/** runCommand for a command that runsInto: undefined when `sink` will be answered. */
export function runCommandInto(
  server: RespServerContext,
  session: Session,
  spec: CommandSpec & { readonly runInto: NonNullable<CommandSpec['runInto']> },
  args: readonly Buffer[],
  sink: WriteSink,
): Reply | Promise<Reply> | undefined {
  return refusal(server, session, spec, args) ?? spec.runInto(server, session, args, sink);
}
