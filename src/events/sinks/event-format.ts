/** The body formats a sink can write an event in: dnsward's own JSON, OCSF, ECS, or CEF. */
import type { SecurityEvent } from '../security-event.js';
import { toCef } from './cef.js';
import { toEcs } from './ecs.js';
import { toOcsf } from './ocsf.js';

export type EventFormat = 'json' | 'ocsf' | 'ecs' | 'cef';

export function formatEvent(e: SecurityEvent, format: EventFormat): string {
  switch (format) {
    case 'cef':
      return toCef(e);
    case 'ocsf':
      return JSON.stringify(toOcsf(e));
    case 'ecs':
      return JSON.stringify(toEcs(e));
    default:
      return JSON.stringify(e);
  }
}
