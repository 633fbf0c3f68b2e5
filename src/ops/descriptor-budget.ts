/**
 * File descriptors, shared out before they run short. Every listener has a connection cap; the
 * sum of the caps must fit in the process's descriptor limit, or an attacker holding idle
 * management connections takes the descriptors DNS needs for its upstream sockets (a failed
 * socket() then). DNS comes first: the sockets it must have (listeners, upstream sockets, a
 * reserve for databases, workers and feed downloads) are counted first, then DNS TCP
 * connections, and the management listeners (console, metrics, control) get what is left, so
 * they refuse connections before DNS loses a descriptor.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';

export interface DescriptorDemand {
  /** Sockets DNS always holds: UDP and TCP listeners, upstream UDP sockets (and as many retiring), upstream TCP connections. */
  dnsFixed: number;
  /** The DNS TCP listeners' connection cap, summed over listeners. */
  dnsTcp: number;
  /** Connection caps of the management listeners, by name. */
  management: Record<string, number>;
}

export interface DescriptorBudget {
  limit: number;
  dnsTcp: number;
  management: Record<string, number>;
  /** What had to shrink, for the start-up log; empty when every cap fits. */
  reduced: string[];
}

/** Descriptors kept for SQLite files, worker threads, feed downloads, logs and the unforeseen. */
export const RESERVE = 64;
/** No management listener is cut below this: an operator can still get in. */
export const MANAGEMENT_FLOOR = 4;
/** Nor DNS TCP below this. */
export const DNS_TCP_FLOOR = 16;

/** Descriptors this process holds now (Node's own: about 20 to 70 before dnsward opens anything); 0 where /proc is missing. */
export function openDescriptorCount(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}

/** The soft RLIMIT_NOFILE, from /proc (Linux); null where it cannot be read. */
export function openFileLimit(): number | null {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (line === null) return null;
    return line[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(line[1]);
  } catch {
    return null;
  }
}

export function budgetDescriptors(limit: number, demand: DescriptorDemand): DescriptorBudget {
  const reduced: string[] = [];
  const management = { ...demand.management };
  const names = Object.keys(management);
  const managementTotal = () => names.reduce((n, k) => n + management[k], 0);
  let dnsTcp = demand.dnsTcp;
  let free = limit - RESERVE - demand.dnsFixed;
  // Management first gives way, down to its floor, each listener in proportion to its cap.
  const floorTotal = names.length * MANAGEMENT_FLOOR;
  if (dnsTcp + managementTotal() > free) {
    // Each keeps its floor; what room is left above the floors is shared in proportion to the caps.
    const above = Math.max(0, free - dnsTcp - floorTotal);
    const wanted = managementTotal() - floorTotal;
    for (const k of names) {
      const cap = MANAGEMENT_FLOOR + Math.floor(((management[k] - MANAGEMENT_FLOOR) * above) / wanted);
      if (cap < management[k]) {
        reduced.push(`${k} connections ${management[k]} -> ${cap}`);
        management[k] = cap;
      }
    }
  }
  free -= managementTotal();
  if (dnsTcp > free) {
    const cap = Math.max(DNS_TCP_FLOOR, free);
    reduced.push(`DNS TCP connections ${dnsTcp} -> ${cap}`);
    dnsTcp = cap;
  }
  return { limit, dnsTcp, management, reduced };
}

/**
 * Descriptors an I/O thread holds beyond its sockets: its event loop's epoll instance and the
 * eventfds libuv and the message port use (about 3 to 5 on Linux).
 */
export const THREAD_OVERHEAD = 6;

/**
 * The caps a configuration asks for, as a demand on descriptors, with `ioThreads` I/O threads
 * (0: the data plane runs on the main thread). Each I/O thread is a whole data plane: its own UDP
 * socket per listener (SO_REUSEPORT) and its own upstream sockets; TCP listens on one thread only.
 */
export function configDemand(config: Config, ioThreads = 0): DescriptorDemand {
  const planes = Math.max(1, ioThreads);
  const upstreams = config.upstreams.servers.length + config.forwardZones.reduce((n, z) => n + z.servers.length, 0);
  const encrypted = config.dot.length + config.doh.length;
  const management: Record<string, number> = { control: CONTROL_CONNECTIONS };
  if (config.console.listen !== null) management.console = config.console.maxConnections;
  if (config.metrics.listen !== null) management.metrics = config.metrics.maxConnections;
  return {
    // Per listener a TCP socket, and a UDP socket per plane; per upstream and plane its UDP
    // sockets, as many being retired, a TCP connection and a health check.
    dnsFixed:
      config.listen.length * (1 + planes) +
      encrypted +
      planes * upstreams * (config.upstreams.sockets * 2 + 2) +
      ioThreads * THREAD_OVERHEAD,
    // DoT and DoH listeners each take up to tcp.maxConnections too.
    dnsTcp: config.tcp.maxConnections * (config.listen.length + encrypted),
    management,
  };
}

/** The control socket's connection cap (operators' CLI commands; no configuration key). */
export const CONTROL_CONNECTIONS = 16;

/**
 * The configuration with its connection caps cut to fit `limit` descriptors, and the control
 * socket's cap. Per-address caps never exceed the total they belong to.
 */
export function fitConfigToDescriptors(
  config: Config,
  limit: number,
  alreadyOpen = 0,
  ioThreads = 0,
): { config: Config; controlConnections: number; reduced: string[] } {
  const demand = configDemand(config, ioThreads);
  const b = budgetDescriptors(limit, { ...demand, dnsFixed: demand.dnsFixed + alreadyOpen });
  if (b.reduced.length === 0) return { config, controlConnections: CONTROL_CONNECTIONS, reduced: [] };
  const perListener = Math.max(
    1,
    Math.floor(b.dnsTcp / Math.max(1, config.listen.length + config.dot.length + config.doh.length)),
  );
  const consoleCap = b.management.console ?? config.console.maxConnections;
  const metricsCap = b.management.metrics ?? config.metrics.maxConnections;
  return {
    config: {
      ...config,
      tcp: {
        ...config.tcp,
        maxConnections: perListener,
        maxConnectionsPerClient: Math.min(config.tcp.maxConnectionsPerClient, perListener),
      },
      console: {
        ...config.console,
        maxConnections: consoleCap,
        maxConnectionsPerAddress: Math.min(config.console.maxConnectionsPerAddress, consoleCap),
      },
      metrics: {
        ...config.metrics,
        maxConnections: metricsCap,
        maxConnectionsPerAddress: Math.min(config.metrics.maxConnectionsPerAddress, metricsCap),
      },
    },
    controlConnections: b.management.control,
    reduced: b.reduced,
  };
}
