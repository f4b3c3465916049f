/**
 * A reverse proxy on 127.0.0.1:0 that forwards everything to a target but drops some request headers: the
 * misconfigured load balancer or API gateway that strips X-Engine-Auth between the engine and TTTranscribe.
 */
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HeaderStrippingProxy {
  /** Where to send requests, e.g. the engine's TTT_BASE_URL. */
  readonly url: string;
  /** How many requests had a stripped header. */
  readonly strippedCount: number;
  /** Sets the origin requests are forwarded to (it may be known only after the proxy's URL was handed out). */
  forwardTo(origin: string): void;
  close(): Promise<void>;
}

/**
 * Starts the proxy; requests are answered 502 until {@link HeaderStrippingProxy.forwardTo} names a target.
 *
 * @example
 * const proxy = await startHeaderStrippingProxy(['X-Engine-Auth']);
 * const stack = await startEngineStack({ engineEnv: { TTT_BASE_URL: proxy.url } });
 * proxy.forwardTo(stack.ttt.baseUrl);
 */
export async function startHeaderStrippingProxy(strip: readonly string[]): Promise<HeaderStrippingProxy> {
  const dropped = new Set(strip.map((h) => h.toLowerCase()));
  let target: URL | undefined;
  let strippedCount = 0;
  const server = createServer((req, res) => {
    if (!target) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end('proxy has no target');
      return;
    }
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!dropped.has(name) && name !== 'host') headers[name] = value;
    }
    if (Object.keys(req.headers).some((name) => dropped.has(name))) strippedCount += 1;
    const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get strippedCount() {
      return strippedCount;
    },
    forwardTo(origin) {
      target = new URL(origin);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
