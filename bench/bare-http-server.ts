// Why: the yardstick for `everwrite bench` over HTTP: a bare node:http server that does the least a
// key-value server can (values in a Map, the bench bucket's props echoed back) and nothing else. Its
// request rate under the same load generator, on the same machine, in the same run, is the ceiling
// that Node's HTTP stack allows here; bench/http-floor.ts compares a real cluster against it.
//   node --import tsx bench/bare-http-server.ts PORT
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65_535)
  throw new Error(`usage: bare-http-server.ts PORT (got ${process.argv[2]})`);
const values = new Map<string, Buffer>();
let props = '{}';
/** Values and props are bounded like a node's: 1 MiB per body, 1M keys. */
const bodyBytesMax = 1_048_576;
const keysMax = 1_000_000;

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  let bytes = 0;
  request.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes <= bodyBytesMax) chunks.push(chunk);
  });
  request.on('end', () => {
    const url = request.url ?? '';
    if (bytes > bodyBytesMax) {
      response.writeHead(413).end();
    } else if (url.endsWith('/props')) {
      if (request.method === 'PUT') props = Buffer.concat(chunks).toString('utf8');
      response.writeHead(200, { 'content-type': 'application/json' }).end(props);
    } else if (request.method === 'PUT') {
      if (values.size < keysMax || values.has(url)) values.set(url, Buffer.concat(chunks));
      response.writeHead(204).end();
    } else {
      const value = values.get(url);
      if (value === undefined)
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"EVERWRITE_NOT_FOUND"}');
      else response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(value);
    }
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
