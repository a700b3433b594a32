// Why: a request body is client-controlled and may be huge or endless. This reader enforces the
// byte limit before and while reading: a declared Content-Length over the limit is refused without
// reading a byte (and without sending "100 Continue"), a chunked body is abandoned the moment it
// crosses the limit. Either way the connection is marked to close after the answer, so the unread
// rest of the upload is never parsed as a next request and never buffered.
// The listeners are module-level functions that find their state on the request, so reading a body
// allocates no closures beyond the one promise.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EverwriteError } from '../../core/base/errors.ts';
import type { ErrorCode } from '../../core/base/errors.ts';

/** Which error a too-large body is reported as, and what to call the body in the message. */
export interface BodyLimit {
  readonly bytesMax: number;
  readonly code: ErrorCode;
  readonly what: string;
}

interface BodyReading {
  readonly limit: BodyLimit;
  readonly response: ServerResponse;
  readonly chunks: Buffer[];
  bytes: number;
  settled: boolean;
  resolve: (body: Uint8Array) => void;
  reject: (error: Error) => void;
}

const readingKey = Symbol('everwrite.bodyReading');
type ReadingRequest = IncomingMessage & { [readingKey]?: BodyReading };

/** `declaredBytes` is the Content-Length when the refusal comes from it; a streamed body has none. */
function tooLarge(limit: BodyLimit, declaredBytes: number | undefined): EverwriteError {
  const message =
    declaredBytes === undefined
      ? `${limit.what} is larger than the ${limit.bytesMax} bytes allowed`
      : `${limit.what} is ${declaredBytes} bytes; at most ${limit.bytesMax} allowed`;
  return new EverwriteError(limit.code, message, { bytesMax: limit.bytesMax });
}

/** The answer will leave part of the body unread: the connection cannot carry another request. */
function abandonBody(response: ServerResponse): void {
  if (!response.headersSent) response.setHeader('Connection', 'close');
}

function settle(reading: BodyReading, request: ReadingRequest): void {
  reading.settled = true;
  request.removeListener('data', onData);
  request.removeListener('end', onEnd);
  request.removeListener('error', onError);
  request.removeListener('close', onClose);
  delete request[readingKey];
}

function onData(this: ReadingRequest, chunk: Buffer): void {
  const reading = this[readingKey];
  if (reading === undefined || reading.settled) return;
  reading.bytes += chunk.length;
  if (reading.bytes > reading.limit.bytesMax) {
    settle(reading, this);
    abandonBody(reading.response);
    reading.reject(tooLarge(reading.limit, undefined));
    return;
  }
  reading.chunks.push(chunk);
}

function onEnd(this: ReadingRequest): void {
  const reading = this[readingKey];
  if (reading === undefined || reading.settled) return;
  settle(reading, this);
  reading.resolve(ownedCopy(reading.chunks, reading.bytes));
}

/**
 * Socket chunks are views into larger read buffers (and Buffer.concat may use the shared pool): a
 * value kept by an in-memory engine would pin all of it. The body gets its own exact-size memory.
 */
function ownedCopy(chunks: readonly Buffer[], bytes: number): Uint8Array {
  const body = new Uint8Array(bytes);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.length;
  }
  return body;
}

function onError(this: ReadingRequest, error: Error): void {
  const reading = this[readingKey];
  if (reading === undefined || reading.settled) return;
  settle(reading, this);
  reading.reject(new EverwriteError('EVERWRITE_BAD_REQUEST', `request body could not be read: ${error.message}`));
}

function onClose(this: ReadingRequest): void {
  const reading = this[readingKey];
  if (reading === undefined || reading.settled) return;
  settle(reading, this);
  reading.reject(
    new EverwriteError('EVERWRITE_BAD_REQUEST', 'client closed the connection before the body was complete'),
  );
}

function declaredLength(request: IncomingMessage): number | undefined {
  const header = request.headers['content-length'];
  if (header === undefined) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/**
 * Reads the whole body, at most `limit.bytesMax` bytes; rejects with a coded error (413 for the
 * limit) otherwise. Sends "100 Continue" only once the declared length is known to fit.
 */
export function readBody(request: IncomingMessage, response: ServerResponse, limit: BodyLimit): Promise<Uint8Array> {
  const length = declaredLength(request);
  if (length !== undefined && length > limit.bytesMax) {
    abandonBody(response);
    return Promise.reject(tooLarge(limit, length));
  }
  if (request.readableEnded) return Promise.resolve(new Uint8Array(0));
  if (request.headers.expect?.toLowerCase() === '100-continue' && !response.headersSent) response.writeContinue();
  const reading: BodyReading = { limit, response, chunks: [], bytes: 0, settled: false, resolve: noop, reject: noop };
  const promise = new Promise<Uint8Array>((resolve, reject) => {
    reading.resolve = resolve;
    reading.reject = reject;
  });
  const target = request as ReadingRequest;
  target[readingKey] = reading;
  target.on('data', onData);
  target.on('end', onEnd);
  target.on('error', onError);
  target.on('close', onClose);
  return promise;
}

function noop(): void {}
