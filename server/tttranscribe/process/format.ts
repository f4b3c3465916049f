/**
 * Formats a byte limit for user-facing messages: `52428800` → `50 MB`.
 *
 * @example
 * formatBytes(50 * 1024 * 1024); // '50 MB'
 */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KB`;
  return `${bytes} bytes`;
}

/**
 * Formats a time limit in milliseconds for user-facing messages: `60000` → `60 s`, `200` → `0.2 s`.
 *
 * @example
 * formatSeconds(1500); // '1.5 s'
 */
export function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * Formats a media length limit in seconds: `1800` → `30 minute`, `5` → `5 second` (used as "the 30 minute limit").
 *
 * @example
 * `longer than the ${formatDuration(1800)} limit`; // 'longer than the 30 minute limit'
 */
export function formatDuration(sec: number): string {
  return sec >= 120 ? `${Math.round(sec / 60)} minute` : `${Math.round(sec * 10) / 10} second`;
}
