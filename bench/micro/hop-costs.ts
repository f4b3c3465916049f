/**
 * `npx tsx bench/micro/hop-costs.ts`: what one HTTP hop costs a bare node:http server on this machine, timed inside
 * the server: from its 'request' event to the end of a small JSON body, and the `res.end()` call that writes the
 * answer (on loopback the write hands the bytes to the peer and wakes it, inside the system call). The client is
 * another process (undici, keep-alive), first at a steady 100 req/s (the gateway-added target's rate: the server
 * sleeps between requests), then closed-loop with 16 requests in flight (saturation). Wall milliseconds; the gap
 * between the two modes is what an idle machine charges every hop, which no code in the services can remove.
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const BODY = JSON.stringify({ url: 'https://media.example.com/clip.mp4', language: 'en' });
const ANSWER = JSON.stringify({
  ok: true,
  jobId: 'job_0123456789abcdef',
  status: 'queued',
  statusUrl: '/status/job_0123456789abcdef',
});

/** The client half (a child process): sends for 4 s in `mode` and reports its round trips. */
async function runClient(origin: string, mode: string): Promise<void> {
  const pool = new Pool(origin, { connections: 16, keepAliveTimeout: 30_000 });
  const send = () =>
    pool
      .request({ method: 'POST', path: '/transcribe', headers: { 'content-type': 'application/json' }, body: BODY })
      .then((res) => res.body.dump());
  const latencies: number[] = [];
  const timed = async () => {
    const started = performance.now();
    await send();
    latencies.push(performance.now() - started);
  };
  for (let i = 0; i < 200; i++) await send(); // warm-up
  const endAt = performance.now() + 4000;
  if (mode === 'paced') {
    const pending: Promise<void>[] = [];
    for (let due = performance.now(); due < endAt; due += 10) {
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      pending.push(timed());
    }
    await Promise.all(pending);
  } else {
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (performance.now() < endAt) await timed();
      }),
    );
  }
  await pool.close();
  // Exit only once the message is out: a large one may still be queued when send() returns.
  await new Promise<void>(
    (resolve) => process.send?.({ latencies }, undefined, undefined, () => resolve()) ?? resolve(),
  );
}

/** The server half: serves in this process, runs the client in each mode and prints the timings. */
async function runServer(): Promise<void> {
  const bodyMs: number[] = [];
  const endMs: number[] = [];
  const server = createServer((req, res) => {
    const arrived = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      bodyMs.push(performance.now() - arrived);
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(ANSWER) });
      const writing = performance.now();
      res.end(ANSWER);
      endMs.push(performance.now() - writing);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const pct = (values: number[], p: number) =>
    [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? 0;
  const fmt = (values: number[]) => `p50 ${pct(values, 0.5).toFixed(3)}  p90 ${pct(values, 0.9).toFixed(3)}`;
  for (const mode of ['paced', 'closed'] as const) {
    bodyMs.length = 0;
    endMs.length = 0;
    const child = fork(fileURLToPath(import.meta.url), ['client', origin, mode], { execArgv: ['--import', 'tsx'] });
    const { latencies } = await new Promise<{ latencies: number[] }>((resolve) =>
      child.once('message', (m) => resolve(m as { latencies: number[] })),
    );
    // The warm-up's 200 requests are not in the client's latencies; drop them from the server's timings too.
    bodyMs.splice(0, 200);
    endMs.splice(0, 200);
    const label = mode === 'paced' ? 'steady 100 req/s' : '16 in flight (saturated)';
    console.log(`${label.padEnd(26)} requests ${String(latencies.length).padStart(6)}`);
    console.log(`  request event -> body read   ${fmt(bodyMs)} ms`);
    console.log(`  res.end() (write + wake)     ${fmt(endMs)} ms`);
    console.log(`  client round trip            ${fmt(latencies)} ms`);
  }
  server.close();
}

if (process.argv[2] === 'client') {
  await runClient(process.argv[3] ?? '', process.argv[4] ?? '');
  process.exit(0); // the IPC channel would keep the child alive
} else {
  await runServer();
}
