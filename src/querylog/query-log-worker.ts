/**
 * The query log's thread: turns raw batches into rows (names decoded, registered domain looked
 * up), writes them to SQLite, applies retention, and answers searches, so the event loop that
 * answers DNS never waits on the disk or on a search.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { SecurityEvent } from '../events/security-event.js';
import { nameLabels, presentName } from '../dns/name.js';
import { anatomize } from '../guard/name-anatomy.js';
import type { QueryBatch, WorkerReply, WorkerRequest } from './query-log.js';
import { type QueryRecord, QueryLogStore } from './query-log-store.js';
import { clientStats, HOUR_MS, type QueryCount, rangeStats } from './query-stats-store.js';

const { path, maxAgeMs, maxBytes } = workerData as { path: string; maxAgeMs: number; maxBytes: number };
const store = new QueryLogStore(path);
const RETAIN_EVERY_MS = 10_000;
let lastRetain = 0;

/** The name part of a cache key (wire name, lower-cased), in presentation form. */
function decodeKey(key: string): { qname: string; domain: string } {
  if (key.length === 0) return { qname: '', domain: '' };
  const labels = nameLabels(Buffer.from(key, 'latin1'), 0);
  if (labels.length === 0) return { qname: '.', domain: '.' };
  return { qname: presentName(labels), domain: presentName(anatomize(labels).registeredDomain.split('.')) };
}

/**
 * A batch's rows, and its queries kept only as counts (count-only ones, and the tally). Names
 * repeat within a batch: each is decoded once.
 */
function rows(b: QueryBatch, out: QueryRecord[], counted: QueryCount[]): void {
  const decoded = new Map<string, { qname: string; domain: string }>();
  const decode = (key: string) => {
    let d = decoded.get(key);
    if (d === undefined) decoded.set(key, (d = decodeKey(key)));
    return d;
  };
  for (const e of b.tally ?? [])
    counted.push({
      t: e.hour * HOUR_MS,
      client: e.client,
      domain: e.key === '' ? '' : decode(e.key).domain,
      type: e.type,
      n: e.n,
    });
  for (let i = 0; i < b.count; i++) {
    const { qname, domain } = decode(b.key[i]);
    if (b.keep[i] === 0) {
      counted.push({ t: b.t[i], client: b.client[i], domain, type: b.type[i], n: 1 });
      continue;
    }
    out.push({
      t: Math.round(b.t[i]),
      client: b.client[i],
      transport: b.transport[i],
      qname,
      domain,
      qtype: b.qtype[i],
      rcode: b.rcode[i],
      type: b.type[i],
      reason: b.reason[i],
      upstream: b.upstream[i],
      latencyMs: Math.round(b.latency[i] * 1000) / 1000,
    });
  }
}

type Port = Pick<MessagePort, 'postMessage'>;

function reply(m: WorkerReply, port: Port = parentPort!): void {
  port.postMessage(m);
}

/**
 * Group commit: writes that arrive while a transaction runs wait for the next turn of the event
 * loop and then go in one transaction. A commit's cost is mostly the index pages it dirties, so
 * under load one transaction of many batches costs little more than one of a single batch
 * (bench/query-log-bench.ts); when idle, a batch still commits alone, at once. Bounded by the
 * sender's MAX_IN_FLIGHT batches.
 */
let pending: Array<WorkerRequest & { op: 'write'; port?: Port }> = [];

function commitPending(): void {
  // A search may have committed them already.
  if (pending.length === 0) return;
  const writes = pending;
  pending = [];
  const queries: QueryRecord[] = [];
  const counted: QueryCount[] = [];
  const events: SecurityEvent[] = [];
  let error: string | null = null;
  try {
    for (const w of writes) {
      if (w.queries) rows(w.queries, queries, counted);
      if (w.events) for (const e of w.events) events.push(e);
    }
    store.write(queries, events, counted);
  } catch (e) {
    error = (e as Error).message;
  }
  let retained = 0;
  if (error === null && Date.now() - lastRetain > RETAIN_EVERY_MS) {
    lastRetain = Date.now();
    try {
      retained = store.retain(maxAgeMs, maxBytes);
    } catch (e) {
      error = `retention: ${(e as Error).message}`;
    }
  }
  for (const w of writes) {
    reply(error === null ? { op: 'written', id: w.id, retained } : { op: 'error', id: w.id, error }, w.port);
    retained = 0;
  }
}

/** Writes from one sender: the main thread, or an I/O thread through its own port. */
function onMessage(m: WorkerRequest | { op: 'port'; port: MessagePort }, port: Port): void {
  if (m.op === 'port') {
    // An I/O thread's query log: its batches come straight here, not through the main thread.
    m.port.on('message', (w: WorkerRequest) => onMessage(w, m.port));
    return;
  }
  // A search sees every write sent before it.
  if (m.op !== 'write' && pending.length > 0) commitPending();
  try {
    switch (m.op) {
      case 'write':
        if (pending.length === 0) setImmediate(commitPending);
        pending.push({ ...m, port });
        break;
      case 'queries':
        reply({ op: 'result', id: m.id, rows: store.queries(m.filter) });
        break;
      case 'events':
        reply({ op: 'result', id: m.id, rows: store.events(m.filter) });
        break;
      case 'search':
        reply({ op: 'result', id: m.id, rows: store.search(m.search) });
        break;
      case 'stats':
        reply({ op: 'result', id: m.id, rows: rangeStats(store.database, m.range, m.top) });
        break;
      case 'client-stats':
        reply({ op: 'result', id: m.id, rows: clientStats(store.database, m.client, m.range) });
        break;
      case 'counts':
        reply({ op: 'result', id: m.id, rows: store.counts() });
        break;
      case 'retain':
        reply({ op: 'result', id: m.id, rows: store.retain(maxAgeMs, maxBytes) });
        break;
    }
  } catch (error) {
    reply({ op: 'error', id: m.id, error: (error as Error).message }, port);
  }
}

parentPort!.on('message', (m: WorkerRequest) => onMessage(m, parentPort!));
