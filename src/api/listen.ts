// Why: both front ends (HTTP and RESP) start a node:net-based server the same way: listen, and
// turn a bind failure (port in use, bad address) into a rejected promise instead of an 'error'
// event nobody waits for.
import type { AddressInfo } from 'node:net';

interface Listenable {
  once(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  listen(port: number, host: string, callback: () => void): unknown;
  address(): AddressInfo | string | null;
}

export function listen(server: Listenable, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
