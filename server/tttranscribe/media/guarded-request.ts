import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { abortReason } from '../abort-reason.js';
import { JobFailure } from '../jobs/job-processor.js';
import type { AddressGuard } from './address-guard.js';

/** A resolved address, as `dns.lookup(host, { all: true })` returns them. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: number;
}

/** Resolves a host name to addresses; injectable so tests can make a name resolve to a private address. */
export type ResolveHost = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolveHost: ResolveHost = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface GuardedRequestOptions {
  readonly guard: AddressGuard;
  readonly resolveHost: ResolveHost;
  readonly signal: AbortSignal;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Resolves the URL's host once, refuses it if ANY resolved address is blocked by the guard, then connects to exactly
 * the checked address (a pinned `lookup`), so DNS rebinding between check and connect cannot reach an internal
 * service. TLS still verifies the certificate against the host name. Resolves with the response head.
 *
 * @example
 * const res = await guardedGet(new URL('https://cdn.example.com/a.mp3'), { guard, resolveHost: systemResolveHost, signal, headers: {} });
 */
export async function guardedGet(url: URL, options: GuardedRequestOptions): Promise<IncomingMessage> {
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const target = await resolveChecked(hostname, options);
  const pinned: LookupFunction = (_host, lookupOptions, callback) => {
    if (lookupOptions.all) callback(null, [target]);
    else callback(null, target.address, target.family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = client.request(url, {
      method: 'GET',
      headers: options.headers,
      lookup: pinned,
      agent: false,
      signal: options.signal,
    });
    req.on('response', resolve);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (options.signal.aborted) {
        reject(abortReason(options.signal));
        return;
      }
      reject(
        new JobFailure(
          'media_fetch_failed',
          `Could not download the media from ${url.host} (${err.code ?? 'connection error'}); check that the URL is correct and publicly reachable, then try again.`,
          { cause: err },
        ),
      );
    });
    req.end();
  });
}

async function resolveChecked(hostname: string, options: GuardedRequestOptions): Promise<ResolvedAddress> {
  let addresses: readonly ResolvedAddress[];
  if (isIP(hostname) !== 0) {
    addresses = [{ address: hostname, family: isIP(hostname) }];
  } else {
    try {
      addresses = await untilAborted(options.resolveHost(hostname), options.signal);
    } catch (err) {
      if (options.signal.aborted) throw options.signal.reason;
      throw new JobFailure('media_fetch_failed', `The host ${hostname} could not be found; check the media URL.`, {
        cause: err,
      });
    }
  }
  const first = addresses[0];
  if (first === undefined)
    throw new JobFailure('media_fetch_failed', `The host ${hostname} has no address; check the media URL.`);
  for (const { address } of addresses) {
    const reason = options.guard.check(address);
    if (reason !== null) {
      throw new JobFailure(
        'media_fetch_failed',
        `The media URL points to ${reason} (${hostname}), which this service does not fetch from; send a publicly reachable URL. ` +
          '(An operator can allow address ranges with TTT_ALLOW_PRIVATE_CIDRS, e.g. 127.0.0.0/8 on a local development stack; never in production.)',
      );
    }
  }
  return first;
}

/** DNS lookups cannot be cancelled; stop waiting for one when the fetch is aborted (e.g. by its time limit). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
