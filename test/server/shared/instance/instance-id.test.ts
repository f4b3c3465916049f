import express from 'express';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../../server/shared/config/env.js';
import {
  defaultInstanceId,
  instanceIdFromEnv,
  instanceIdHeader,
  instanceStartFields,
} from '../../../../server/shared/instance/instance-id.js';
import { loadConfig } from '../../../../server/tttranscribe/config.js';
import { TEST_SECRET } from '../../../helpers/ttt-app.js';

describe('instance ids', () => {
  it('takes INSTANCE_ID when set, else one random i- name per process that reveals neither host nor pid', () => {
    expect(instanceIdFromEnv({ INSTANCE_ID: ' engine-a ' })).toBe('engine-a');
    const fallback = instanceIdFromEnv({ INSTANCE_ID: '' });
    expect(fallback).toBe(defaultInstanceId());
    expect(fallback).toMatch(/^i-[0-9a-v]{8}$/);
    expect(fallback).not.toContain(String(process.pid));
    expect(fallback).not.toContain(hostname().slice(0, 8));
  });

  it('gives the host name and pid to the start log line instead', () => {
    expect(instanceStartFields('i-abcdefgh')).toEqual({
      instanceId: 'i-abcdefgh',
      hostname: hostname(),
      pid: process.pid,
    });
  });

  it('refuses a malformed INSTANCE_ID at start, naming the variable and not echoing the value', () => {
    for (const bad of ['-leading-dash', 'has space', 'x'.repeat(101), 'ünïcode']) {
      expect(() => instanceIdFromEnv({ INSTANCE_ID: bad })).toThrow(ConfigError);
    }
    try {
      loadConfig({ TTT_SHARED_SECRET: TEST_SECRET, INSTANCE_ID: 'bad id!' });
      expect.unreachable('loadConfig accepted a malformed INSTANCE_ID');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((p) => p.variable)).toEqual(['INSTANCE_ID']);
      expect((error as ConfigError).message).not.toContain('bad id!');
    }
    expect(loadConfig({ TTT_SHARED_SECRET: TEST_SECRET, INSTANCE_ID: 'ttt-b' }).instanceId).toBe('ttt-b');
  });

  it('sets X-Instance-Id on every response, errors included', async () => {
    const app = express();
    app.use(instanceIdHeader('replica-7'));
    app.get('/boom', () => {
      throw new Error('boom');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      for (const path of ['/boom', '/missing']) {
        const response = await fetch(`${base}${path}`);
        await response.body?.cancel();
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.headers.get('x-instance-id')).toBe('replica-7');
      }
    } finally {
      server.close();
    }
  });
});
