/** `floods`: the random-subdomain flood detector's settings and the domains it flags now. Read only. */
import type { OperatorHost } from '../operator-host.js';

export function listFloods(host: OperatorHost) {
  const { enabled, mode } = host.runningConfig.defence.randomSubdomain;
  return {
    enabled,
    mode,
    tracked: host.flood.tracked,
    floods: host.flood.active().map((f) => ({
      ...f,
      normalNewNames: Math.round(f.normalNewNames * 100) / 100,
      normalFailures: Math.round(f.normalFailures * 100) / 100,
    })),
  };
}
