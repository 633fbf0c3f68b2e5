/**
 * How long an operator decision lasts (allow, quarantine): a duration such as 30m, 12h or 7d,
 * or "forever" for a permanent allow, as every DNS firewall offers. Forever is a century: an
 * ordinary expiry time, so storage, the cluster and the console need no special case.
 */
import { parseDuration } from '../config/units.js';

export const FOREVER_SECONDS = 100 * 365 * 86_400;

/** Seconds, or a message saying what was expected. */
export function operatorSeconds(text: string | undefined, fallback: number, allowForever = true): number | string {
  if (text === undefined) return fallback;
  if (allowForever && text === 'forever') return FOREVER_SECONDS;
  const ms = parseDuration(text);
  if (ms === null || ms <= 0)
    return `a duration such as 30m, 12h or 7d${allowForever ? ', or forever' : ''}, not "${text}"`;
  return ms / 1000;
}

/** An expiry as people read it: "forever" for the century above. */
export function untilText(untilSeconds: number, nowSeconds = Date.now() / 1000): string {
  return untilSeconds - nowSeconds > FOREVER_SECONDS / 2 ? 'forever' : new Date(untilSeconds * 1000).toISOString();
}
