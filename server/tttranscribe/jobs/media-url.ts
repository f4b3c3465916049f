import { ApiError } from '../../shared/errors/api-error.js';

/** Longest media URL accepted, after normalisation (the spec caps the submitted string at the same length). */
export const MAX_MEDIA_URL_LENGTH = 2048;

export type UnsupportedUrlReason = 'scheme_not_allowed' | 'host_not_allowed' | 'too_long' | 'malformed';

const unsupported = (reason: UnsupportedUrlReason, detail: string, extra: Record<string, unknown> = {}): ApiError =>
  new ApiError('unsupported_url', detail, { details: { reason, ...extra } });

/**
 * Whether a host name is on an allow-list: an entry matches itself exactly, and `*.example.com` matches any
 * subdomain of example.com (not example.com itself). Comparison ignores case and a trailing dot. An empty list
 * allows every host.
 *
 * @example
 * hostAllowed('cdn.example.com', ['*.example.com']); // true
 */
function hostAllowed(host: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const h = host.toLowerCase().replace(/\.$/, '');
  return allowed.some((entry) => {
    const e = entry.toLowerCase().replace(/\.$/, '');
    return e.startsWith('*.') ? h.endsWith(e.slice(1)) && h.length > e.length - 1 : h === e;
  });
}

/**
 * Checks a submitted media URL against TTTranscribe's rules and returns it parsed, or throws `unsupported_url`
 * (422) with `details.reason`: `malformed` (not an absolute URL, or carries a user name or password),
 * `scheme_not_allowed` (not http/https), `too_long` (over 2048 characters once normalised, e.g. after
 * percent-encoding non-ASCII characters) or `host_not_allowed` (not on TTT_ALLOWED_MEDIA_HOSTS).
 * Whether the host resolves to a public address is checked when the media is fetched, on every redirect.
 *
 * @example
 * const url = checkMediaUrl('https://media.example.com/clip.mp4', ['media.example.com']);
 */
export function checkMediaUrl(value: string, allowedHosts: readonly string[]): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw unsupported('malformed', 'The media URL is not an absolute URL; send a full http(s) link.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw unsupported(
      'scheme_not_allowed',
      `Only http and https URLs can be transcribed, not ${url.protocol.slice(0, -1)}.`,
      {
        scheme: url.protocol.slice(0, -1),
        allowedSchemes: ['http', 'https'],
      },
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw unsupported('malformed', 'The media URL must not carry a user name or password; send a public link.');
  }
  if (url.href.length > MAX_MEDIA_URL_LENGTH) {
    throw unsupported(
      'too_long',
      `The media URL is ${url.href.length} characters once encoded; the limit is ${MAX_MEDIA_URL_LENGTH}.`,
      {
        length: url.href.length,
        maxLength: MAX_MEDIA_URL_LENGTH,
      },
    );
  }
  if (!hostAllowed(url.hostname, allowedHosts)) {
    throw unsupported('host_not_allowed', `Media from ${url.hostname} is not accepted by this TTTranscribe.`, {
      host: url.hostname,
      allowedHosts: [...allowedHosts],
    });
  }
  return url;
}
