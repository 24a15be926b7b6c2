/**
 * The load's measuring proxy, in a process of its own: a pass-through HTTP proxy in front of the
 * API (the sandboxes post to it, as they would to a load balancer) that times every answer of the
 * API, per system. Its own process keeps the timing free of the load generator's and the
 * sandboxes' work. Prints `proxy listening <port>` once it listens.
 *   POST /__load/target?port=N   where the API listens (until then: 502)
 *   GET  /__load/stats           {bySystem: {kind: ms[]}, byStatus: {"kind status": n}}
 *   POST /__load/reset           forgets what was measured
 * Usage (by load/webhooks.ts): node --import tsx load/proxy.ts
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';

export type Kind = 'HubSpot' | 'Calendar' | 'Gmail' | 'Drive' | 'Fireflies';
export interface ProxyStats {
  bySystem: Record<string, number[]>;
  byStatus: Record<string, number>;
}

const header = (req: IncomingMessage, name: string): string => {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
};

/** Which system sent a delivery: by path, and for Google by the channel's resource (no channel: a Gmail push). */
function kindOf(req: IncomingMessage): Kind | 'other' {
  const path = req.url?.split('?')[0] ?? '';
  if (path.endsWith('/hubspot')) return 'HubSpot';
  if (path.endsWith('/fireflies')) return 'Fireflies';
  if (!path.endsWith('/google')) return 'other';
  const uri = header(req, 'x-goog-resource-uri');
  if (!header(req, 'x-goog-channel-id')) return 'Gmail';
  return uri.includes('/drive/') ? 'Drive' : uri.includes('/calendar/') ? 'Calendar' : 'other';
}

function main(): void {
  let target = 0;
  const stats: ProxyStats = { bySystem: {}, byStatus: {} };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '';
    if (path.startsWith('/__load/')) {
      if (path.startsWith('/__load/target')) target = Number(new URL(path, 'http://x').searchParams.get('port'));
      else if (path === '/__load/reset') Object.assign(stats, { bySystem: {}, byStatus: {} });
      res.writeHead(200, { 'content-type': 'application/json' }).end(path === '/__load/stats' ? JSON.stringify(stats) : '{}');
      return;
    }
    const t0 = performance.now();
    const kind = kindOf(req);
    if (!target) {
      res.writeHead(502).end();
      return;
    }
    const up = request({ host: '127.0.0.1', port: target, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', () => {
        (stats.bySystem[kind] ??= []).push(performance.now() - t0);
        const key = `${kind} ${answer.statusCode}`;
        stats.byStatus[key] = (stats.byStatus[key] ?? 0) + 1;
      });
    });
    up.on('error', () => {
      stats.byStatus['proxy error'] = (stats.byStatus['proxy error'] ?? 0) + 1;
      res.writeHead(502).end();
    });
    req.pipe(up);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => console.log(`proxy listening ${(server.address() as { port: number }).port}`));
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

if (require.main === module) main();
