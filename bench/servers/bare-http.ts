import { createServer } from 'node:http';
import { listenForBench } from './listen.js';

/*
 * The upper limit: node:http answering TTTranscribe's 202 body (fresh job id and timestamp per request, the body
 * read to the end), with no routing, auth, validation or storage.
 */
let counter = 0;

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    counter += 1;
    const jobId = `job_${String(counter).padStart(26, '0')}`;
    const body = JSON.stringify({ ok: true, jobId, status: 'queued', submittedAt: new Date().toISOString() });
    res.writeHead(202, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      location: `/status/${jobId}`,
    });
    res.end(body);
  });
});

listenForBench(server);
