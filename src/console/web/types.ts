/** The shapes the console API returns (the server's types, as the browser sees them). */
export interface StageReport {
  name: string;
  score: number;
  evidence: Record<string, number | string | boolean | string[]>;
}

export interface SecurityEvent {
  id: string;
  time: string;
  type: string;
  severity: number;
  node: string;
  client?: string;
  domain?: string;
  qname?: string;
  action?: string;
  enforced?: boolean;
  incident?: string;
  leakedBytes?: number;
  samples?: string[];
  reasons: string[];
  stages: StageReport[];
  operator?: string;
  policy?: { group: string; feed: string; category: string; version: string; rule: string; line: number };
  /** MITRE ATT&CK techniques (the console API adds them). */
  attack?: Array<{ id: string; name: string }>;
}

export interface StatsSample {
  t: number;
  qps: number;
  byType: Record<string, number>;
  cacheHitRatio: number;
  p50ms: number;
  p90ms: number;
  p99ms: number;
  blocksPerSecond: number;
  upstreams: Array<{ name: string; healthy: boolean; latencyAvgMs: number }>;
}

export interface QueryRow {
  t: number;
  client: string;
  transport: string;
  qname: string;
  domain: string;
  qtype: number;
  rcode: number;
  type: string;
  reason: string;
  upstream: string;
  latencyMs: number;
}

export interface LearnedDomain {
  domain: string;
  firstSeen: number;
  lastSeen: number;
  queries: number;
  uniqueNames: number;
  clients: number;
  nxdomainRatio: number;
  downstreamBytes: number;
  templateStability: number;
  activeHours: number;
  leakedBytes: number;
  samples: string[];
  knownEncoder: string | null;
  recognisedEncoder: boolean;
  established: boolean;
  encoderMultiplier: number;
  budgetBytes: Array<number | null>;
  block: { incident: string; since: number; until: number; offenses: number } | null;
}

export interface Me {
  user: string;
  role: 'admin' | 'viewer';
  csrfToken: string | null;
}
