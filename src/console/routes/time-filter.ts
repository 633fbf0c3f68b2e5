/** The console's time filters (query log, threats): one way to write a point in time everywhere. */
import { parseDuration } from '../../config/units.js';

/** A time filter: ms since the epoch, an ISO 8601 time, or a duration back from now; null if none of those. */
function timeOf(text: string, now: number): number | null {
  if (/^\d{1,15}$/.test(text)) return Number(text);
  const ago = parseDuration(text);
  if (ago !== null) return now - ago;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : at;
}

/** A request's `from`/`to` as the stores' `since`/`until`, or a message saying which is wrong. */
export function timeRange(p: { from?: string; to?: string }, now: number): { since?: number; until?: number } | string {
  const out: { since?: number; until?: number } = {};
  for (const [key, name, text] of [
    ['since', 'from', p.from],
    ['until', 'to', p.to],
  ] as const) {
    if (text === undefined || text === '') continue;
    const t = timeOf(text, now);
    if (t === null)
      return `${name} must be ms since the epoch, an ISO 8601 time or a duration such as 15m, not "${text}"`;
    out[key] = t;
  }
  return out;
}

/** The `from` and `to` query properties of every route that takes a time range (their schema). */
export const TIME_RANGE_PROPERTIES = {
  from: {
    type: 'string',
    maxLength: 32,
    description: 'ms since the epoch, an ISO 8601 time, or a duration back from now (15m, 24h)',
  },
  to: { type: 'string', maxLength: 32, description: 'as from' },
} as const;
