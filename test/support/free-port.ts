// Why: tests that start nodes in their own process (startNode) need loopback ports nobody uses;
// the OS picks one when a server binds port 0.
import { createServer } from 'node:net';

/** A port free on loopback now: bound once to learn it, then closed. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
