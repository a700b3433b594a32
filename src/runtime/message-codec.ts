// Why: peers exchange batches of protocol messages as msgpack frames (measured 3x faster than JSON,
// DESIGN.md section 3). A frame from an authenticated peer can still be malformed (a bug, a version
// skew), so decoding checks each message's shape before the core ever sees it.
import { Packr } from 'msgpackr';
import { EverwriteError } from '../core/base/errors.ts';
import type { Message } from '../core/protocol/messages.ts';

const packr = new Packr({ useRecords: false, moreTypes: false });

const requiredFields: Record<Message['type'], readonly string[]> = {
  replicaPut: ['id', 'partition', 'storageKey', 'record', 'durable'],
  replicaPutAck: ['id', 'ok'],
  replicaGet: ['id', 'partition', 'storageKey'],
  replicaGetReply: ['id', 'ok'],
  forward: ['id', 'operation'],
  forwardReply: ['id'],
  reap: ['partition', 'storageKey', 'record'],
  props: ['entries'],
};

export function encodeMessages(messages: readonly Message[]): Uint8Array {
  return packr.pack(messages);
}

export function decodeMessages(frame: Uint8Array): Message[] {
  let decoded: unknown;
  try {
    decoded = packr.unpack(frame);
  } catch {
    throw new EverwriteError('EVERWRITE_BAD_FRAME', 'frame is not valid msgpack');
  }
  if (!Array.isArray(decoded)) throw new EverwriteError('EVERWRITE_BAD_FRAME', 'frame is not a message batch');
  for (const message of decoded) {
    const fields = typeof message === 'object' && message !== null ? requiredFields[(message as { type: Message['type'] }).type] : undefined;
    if (fields === undefined || !fields.every((field) => (message as Record<string, unknown>)[field] !== undefined)) {
      throw new EverwriteError('EVERWRITE_BAD_FRAME', 'frame holds a malformed message');
    }
  }
  return decoded as Message[];
}
