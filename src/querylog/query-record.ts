/**
 * One logged query as the store keeps it and the console's API returns it, types only: the
 * store, the console's routes and its browser code import this one declaration.
 */
export interface QueryRecord {
  /** Milliseconds since the epoch. */
  t: number;
  client: string;
  transport: string;
  qname: string;
  /** The registered domain (PSL), for "everything under example.com" searches. */
  domain: string;
  qtype: number;
  rcode: number;
  /** answered, cached, blocked, … */
  type: string;
  reason: string;
  upstream: string;
  latencyMs: number;
}
