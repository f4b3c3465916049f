import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/** Header and field paths that never reach a log line. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-engine-auth"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-engine-auth"]',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers["x-engine-auth"]',
  '*.headers.cookie',
  'authorization',
  'cookie',
  'token',
  'secret',
  'password',
  '*.authorization',
  '*.token',
  '*.secret',
  '*.password',
];

/**
 * Creates the structured JSON logger of a service. Credentials are redacted by path; callers must still never
 * pass a secret or token as a message. Pass a destination to capture lines (tests) or `level: 'silent'`.
 *
 * @example
 * const logger = createLogger({ service: 'tttranscribe', level: 'info' });
 * logger.info({ keyIds }, 'X-Engine-Auth keys loaded');
 */
export function createLogger(options: { service: string; level?: string; destination?: DestinationStream }): Logger {
  const config: LoggerOptions = {
    level: options.level ?? 'info',
    base: { service: options.service },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  // Asynchronous writes keep logging off the hot path.
  return pino(config, options.destination ?? pino.destination({ sync: false }));
}
