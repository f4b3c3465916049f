import { Agent, createServer, request, type IncomingHttpHeaders } from 'node:http';
import { listenForBench } from './listen.js';

/*
 * The proxy limit: node:http forwarding every request unchanged (method, path, headers, body) to
 * BENCH_UPSTREAM_URL over a keep-alive pool, and streaming the answer back. The gateway target is a ratio of this
 * in front of the same upstream, so the ratio isolates the gateway's own cost.
 */
const upstream = new URL(process.env['BENCH_UPSTREAM_URL'] ?? '');
if (upstream.protocol !== 'http:') throw new Error('BENCH_UPSTREAM_URL must be an http:// URL');
// Idle sockets are dropped after 4 s, before the upstream's 5 s keep-alive timeout closes them: otherwise a
// request sent on a socket the upstream is closing at that moment fails with ECONNRESET (a 502 here).
const agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256, timeout: 4000 });
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
]);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

const server = createServer((req, res) => {
  const upstreamReq = request(
    {
      agent,
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: { ...forwardable(req.headers), host: upstream.host },
    },
    (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode ?? 502, forwardable(upstreamRes.headers));
      upstreamRes.pipe(res);
    },
  );
  upstreamReq.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
    res.end('{"ok":false,"code":"upstream_unavailable"}');
  });
  req.pipe(upstreamReq);
});

listenForBench(server, () => agent.destroy());
