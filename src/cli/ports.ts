// Why: a local cluster started on ports another program holds would talk to that program's nodes
// as if they were its own. `everwrite dev` asks the kernel first: each port it is about to give a
// node is bound for a moment on the same address and released.
import { createServer } from 'node:net';

/** Whether `port` on `host` can be listened on right now. */
function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The ports of `ports` that are taken on `host`, in the order given. */
export async function portsInUse(host: string, ports: readonly number[]): Promise<number[]> {
  const taken: number[] = [];
  for (const port of ports) if (!(await portFree(host, port))) taken.push(port);
  return taken;
}
