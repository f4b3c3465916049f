import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerClientErrors } from '../../../../server/shared/http/client-errors.js';
import { createLogger } from '../../../../server/shared/logging/logger.js';

const lines: Array<Record<string, unknown>> = [];
let server: Server;
let port: number;

beforeAll(async () => {
  const destination = new Writable({
    write(chunk, _e, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  server = createServer((_req, res) => res.end('ok'));
  answerClientErrors(server, createLogger({ service: 'test', level: 'info', destination }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Sends raw bytes and reads everything until the server closes the connection. */
function exchange(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
    let text = '';
    socket
      .setEncoding('utf8')
      .on('data', (chunk: string) => (text += chunk))
      .on('close', () => resolve(text))
      .on('error', reject);
  });
}

function parse(answer: string): { statusLine: string; headers: string; body: Record<string, unknown> } {
  const [head, body] = answer.split('\r\n\r\n') as [string, string];
  return {
    statusLine: head.split('\r\n')[0] as string,
    headers: head,
    body: JSON.parse(body) as Record<string, unknown>,
  };
}

describe('answerClientErrors', () => {
  it('answers headers over the limit with 431 request_header_too_large as problem+json, and closes', async () => {
    const answer = parse(
      await exchange(`GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'a'.repeat(100_000)}\r\n\r\n`),
    );
    expect(answer.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(answer.headers).toMatch(/Content-Type: application\/problem\+json; charset=utf-8/);
    expect(answer.headers).toMatch(/Connection: close/);
    const requestId = /X-Request-ID: (\S+)/.exec(answer.headers)?.[1];
    expect(answer.body).toMatchObject({
      code: 'request_header_too_large',
      status: 431,
      requestId,
      responsibility: 'caller',
      details: { limitBytes: 16_384 },
    });
    expect(lines.find((l) => l['requestId'] === requestId)).toMatchObject({
      level: 30,
      code: 'request_header_too_large',
      parserCode: 'HPE_HEADER_OVERFLOW',
    });
  });

  it('answers a request that is not HTTP with 400 invalid_request as problem+json', async () => {
    const answer = parse(await exchange('NOT HTTP AT ALL\r\n\r\n'));
    expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(answer.body).toMatchObject({
      code: 'invalid_request',
      status: 400,
      details: { errors: [{ pointer: '', message: expect.stringContaining('not valid HTTP') }] },
    });
  });

  it('still serves well-formed requests', async () => {
    expect(await exchange('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toMatch(
      /^HTTP\/1\.1 200 OK[\s\S]*ok$/,
    );
  });
});
