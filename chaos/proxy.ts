/**
 * A TCP proxy in front of a sandbox, so "the external API is unreachable" is what a worker would
 * see: connections refused (listener closed) and open ones cut, then the same address back.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface Proxy {
  port: number;
  url: string;
  /** stop listening and cut every open connection */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number, port = 0): Promise<Proxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = (p: number) =>
    new Promise<number>((resolve, reject) => {
      const srv = createServer((client) => {
        const upstream = createConnection({ port: targetPort, host: '127.0.0.1' });
        sockets.add(client);
        sockets.add(upstream);
        const end = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      srv.once('error', reject);
      srv.listen(p, '127.0.0.1', () => {
        server = srv;
        resolve((srv.address() as { port: number }).port);
      });
    });
  const actual = await listen(port);
  const down = async () => {
    const srv = server;
    server = undefined;
    for (const s of sockets) s.destroy();
    sockets.clear();
    if (srv) await new Promise<void>((r) => srv.close(() => r()));
  };
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    down,
    up: async () => {
      if (!server) await listen(actual);
    },
    close: down,
  };
}
