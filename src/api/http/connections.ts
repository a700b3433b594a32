// Why: an HTTP node must not be starved by connections (decision 0013): tens of thousands of idle
// or slowloris sockets once took every file descriptor of a node, so new HTTP and RESP clients
// were refused. Every accepted socket passes through here: a total and a per-address share
// (ConnectionAdmission), where a full table closes its longest-idle connection for the newcomer.
// A socket refused gets one precomputed answer (503 or 429) and is closed at once, holding no
// descriptor beyond the write. Deadlines for silent or trickling clients are Node's own
// (headersTimeout, keepAliveTimeout), set in server.ts.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ConnectionAdmission, type AdmissionLimits, type AdmittedConnection } from '../../core/base/admission.ts';
import { retryAfterSecondsFor } from './retry-after.ts';

/** One accepted socket: busy while a request of it is being served. */
class HttpConnection implements AdmittedConnection {
  requestsInFlight = 0;

  constructor(
    readonly socket: Socket,
    readonly clientAddress: string,
  ) {}

  isBusy(): boolean {
    return this.requestsInFlight > 0;
  }

  evict(): void {
    this.socket.destroy();
  }
}

function refusal(status: number, code: string, message: string): Buffer {
  const body = JSON.stringify({ code, message });
  return Buffer.from(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nRetry-After: ${retryAfterSecondsFor(code)}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    'latin1',
  );
}

const serverFullAnswer = refusal(
  503,
  'EVERWRITE_UNAVAILABLE',
  'this node holds as many HTTP connections as it allows, all busy; retry later',
);
const addressFullAnswer = refusal(
  429,
  'EVERWRITE_RATE_LIMITED',
  'your address holds as many HTTP connections as this node allows one address; reuse them',
);

/** Counters for operators and tests; monotonic. */
export interface HttpConnectionStats {
  accepted: number;
  refusedServerFull: number;
  refusedAddressFull: number;
  evicted: number;
}

export class HttpConnectionGuard {
  readonly stats: HttpConnectionStats = { accepted: 0, refusedServerFull: 0, refusedAddressFull: 0, evicted: 0 };
  private readonly admission: ConnectionAdmission<HttpConnection>;
  private readonly bySocket = new Map<Socket, HttpConnection>();

  constructor(limits: AdmissionLimits) {
    this.admission = new ConnectionAdmission(limits);
  }

  get connectionCount(): number {
    return this.admission.size;
  }

  /** The 'connection' listener: admits, evicting an idle connection if need be, or refuses. */
  readonly onConnection = (socket: Socket): void => {
    const connection = new HttpConnection(socket, socket.remoteAddress ?? '?');
    const verdict = this.admission.admit(connection);
    this.stats.evicted = this.admission.evictions;
    if (verdict !== 'admitted') {
      if (verdict === 'full') this.stats.refusedServerFull += 1;
      else this.stats.refusedAddressFull += 1;
      refuse(socket, verdict === 'full' ? serverFullAnswer : addressFullAnswer);
      return;
    }
    this.stats.accepted += 1;
    this.bySocket.set(socket, connection);
    socket.once('close', () => {
      this.bySocket.delete(socket);
      this.admission.release(connection);
    });
  };

  /** The address a request's socket was admitted under (its IP). */
  clientAddressOf(socket: Socket): string {
    return this.bySocket.get(socket)?.clientAddress ?? socket.remoteAddress ?? '?';
  }

  requestStarted(socket: Socket): void {
    const connection = this.bySocket.get(socket);
    if (connection === undefined) return;
    connection.requestsInFlight += 1;
    this.admission.touch(connection);
  }

  requestFinished(socket: Socket): void {
    const connection = this.bySocket.get(socket);
    if (connection === undefined) return;
    connection.requestsInFlight -= 1;
    this.admission.touch(connection);
  }
}

/**
 * Writes the refusal and closes. destroySoon() closes as soon as the few bytes are handed to the
 * kernel, so a client that never reads or closes cannot keep the descriptor.
 */
function refuse(socket: Socket, answer: Buffer): void {
  socket.on('error', () => socket.destroy());
  socket.write(answer);
  socket.destroySoon();
}
