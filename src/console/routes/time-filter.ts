/** The console's time filters (query log, threats): one way to write a point in time everywhere. */
import { parseDuration } from '../../config/units.js';

/** A time filter: ms since the epoch, an ISO 8601 time, or a duration back from now; null if none of those. */
export function timeOf(text: string, now: number): number | null {
  if (/^\d{1,15}$/.test(text)) return Number(text);
  const ago = parseDuration(text);
  if (ago !== null) return now - ago;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : at;
}
