import { createServer } from 'node:http';
import express from 'express';
import { listenForBench } from './listen.js';

/* The framework baseline the service targets are ratios of: Express 5 answering a small JSON body. */
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.get('/', (_req, res) => {
  res.json({ ok: true, hello: 'world' });
});

listenForBench(createServer(app));
