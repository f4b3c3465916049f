import express from 'express';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../../server/shared/errors/api-error.js';
import {
  registerCreditMetrics,
  registerJobMetrics,
  type CreditMovement,
} from '../../../../server/shared/observability/domain-metrics.js';
import { createServiceMetrics, metricsHandler } from '../../../../server/shared/observability/service-metrics.js';
import {
  registerUpstreamMetrics,
  type CircuitState,
} from '../../../../server/business-engine/upstream/upstream-metrics.js';

/** The value of one series in a Prometheus text exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string | undefined> = Object.fromEntries(
      [...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((p) => [p[1], p[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('createServiceMetrics', () => {
  it('gives every instance its own registry, labelled with the service', async () => {
    const a = createServiceMetrics({ service: 'svc-a', processMetrics: false });
    const b = createServiceMetrics({ service: 'svc-b', processMetrics: false });
    a.httpRequests.inc({ route: 'getHealth', method: 'GET', status: '200' });
    expect(sample(await a.registry.metrics(), 'http_requests_total', { route: 'getHealth', service: 'svc-a' })).toBe(1);
    expect(sample(await b.registry.metrics(), 'http_requests_total', { route: 'getHealth' })).toBeUndefined();
  });

  it('includes process metrics unless told not to', async () => {
    const text = await createServiceMetrics({ service: 'svc' }).registry.metrics();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('counts requests by operationId (unmatched paths under one label) and 401/403 by code and route', async () => {
    const metrics = createServiceMetrics({ service: 'svc', processMetrics: false });
    const app = express();
    app.use((req, res, next) => {
      res.once('finish', () => metrics.countResponse(req, res));
      next();
    });
    app.get('/known', (_req, res) => {
      res.locals['operationId'] = 'getKnown';
      res.status(200).end();
    });
    app.get('/denied', (req, res) => {
      res.locals['operationId'] = 'getDenied';
      const error = new ApiError('token_expired');
      metrics.countAuthFailures(error, req, res);
      metrics.countAuthFailures(new ApiError('not_found'), req, res);
      res.status(401).end();
    });
    app.get('/metrics', metricsHandler(metrics.registry));
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await fetch(`${base}/known`);
      await fetch(`${base}/known`);
      await fetch(`${base}/denied`);
      await fetch(`${base}/no/such/path/12345`);
      const response = await fetch(`${base}/metrics`);
      expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-store');
      const text = await response.text();
      expect(sample(text, 'http_requests_total', { route: 'getKnown', method: 'GET', status: '200' })).toBe(2);
      expect(sample(text, 'http_requests_total', { route: 'getDenied', status: '401' })).toBe(1);
      expect(sample(text, 'http_requests_total', { route: 'unmatched', status: '404' })).toBe(1);
      expect(text).not.toContain('/no/such/path');
      expect(sample(text, 'auth_failures_total', { code: 'token_expired', route: 'getDenied' })).toBe(1);
      expect(sample(text, 'auth_failures_total', { code: 'not_found' })).toBeUndefined();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('registerUpstreamMetrics', () => {
  it('observes calls by operation and outcome and reads the circuit state at scrape time', async () => {
    const { registry } = createServiceMetrics({ service: 'svc', processMetrics: false });
    let state: CircuitState = 'closed';
    const observe = registerUpstreamMetrics(registry, { upstream: 'tttranscribe', circuitState: () => state });
    observe('submit', 'ok', 0.02);
    observe('submit', 'credentials_rejected', 0.01);
    observe('status', 'circuit_open', 0);
    let text = await registry.metrics();
    expect(
      sample(text, 'upstream_request_duration_seconds_count', {
        operation: 'submit',
        outcome: 'ok',
        upstream: 'tttranscribe',
      }),
    ).toBe(1);
    expect(
      sample(text, 'upstream_request_duration_seconds_bucket', { operation: 'submit', outcome: 'ok', le: '0.025' }),
    ).toBe(1);
    expect(
      sample(text, 'upstream_request_duration_seconds_count', { operation: 'submit', outcome: 'credentials_rejected' }),
    ).toBe(1);
    expect(
      sample(text, 'upstream_request_duration_seconds_count', { operation: 'status', outcome: 'circuit_open' }),
    ).toBe(1);
    expect(sample(text, 'circuit_breaker_state', { upstream: 'tttranscribe' })).toBe(0);
    state = 'half_open';
    expect(sample(await registry.metrics(), 'circuit_breaker_state', { upstream: 'tttranscribe' })).toBe(1);
    state = 'open';
    text = await registry.metrics();
    expect(sample(text, 'circuit_breaker_state', { upstream: 'tttranscribe' })).toBe(2);
  });
});

describe('registerCreditMetrics and registerJobMetrics', () => {
  it('adds each movement once, whichever counter is collected first, and bounds the reason label', async () => {
    const { registry } = createServiceMetrics({ service: 'svc', processMetrics: false });
    let pending: CreditMovement[] = [
      { kind: 'charge', reason: 'vend_token', credits: 1 },
      { kind: 'charge', reason: 'vend_token', credits: 1 },
      { kind: 'refund', reason: 'upstream_auth_failure', credits: 1 },
      { kind: 'refund', reason: 'job_failed:media_fetch_failed', credits: 1 },
      { kind: 'refund', reason: 'Weird Reason with spaces', credits: 1 },
    ];
    registerCreditMetrics(registry, () => {
      const out = pending;
      pending = [];
      return out;
    });
    const text = await registry.metrics();
    expect(sample(text, 'credits_refunded_total', { reason: 'upstream_auth_failure' })).toBe(1);
    expect(sample(text, 'credits_refunded_total', { reason: 'job_failed:media_fetch_failed' })).toBe(1);
    expect(sample(text, 'credits_refunded_total', { reason: 'other' })).toBe(1);
    expect(text).toMatch(/^credits_charged_total\{service="svc"\} 2$/m);
    pending = [{ kind: 'refund', reason: 'upstream_auth_failure', credits: 1 }];
    expect(sample(await registry.metrics(), 'credits_refunded_total', { reason: 'upstream_auth_failure' })).toBe(2);
  });

  it('reports every job state, 0 when absent', async () => {
    const { registry } = createServiceMetrics({ service: 'svc', processMetrics: false });
    registerJobMetrics(registry, ['queued', 'processing', 'completed', 'failed'], () => ({ queued: 2, completed: 5 }));
    const text = await registry.metrics();
    expect(
      ['queued', 'processing', 'completed', 'failed'].map((state) => sample(text, 'jobs_by_state', { state })),
    ).toEqual([2, 0, 5, 0]);
  });
});
