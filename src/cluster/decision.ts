/**
 * A decision one node shares with the others: a Tunnel Guard block (for everyone or for one
 * client), an operator's unblock, allow, quarantine or release, and a dynamic block of a client
 * prefix (a rate rule fired) or its lift. The same JSON text is the
 * pub/sub message and the value kept in Redis's hash of current decisions, so a node that joins
 * reads exactly what the others were sent.
 *
 * Every decision has a field (what it is about: one field per domain block, client block,
 * unblock, allow, quarantine): the newest version of a field wins, on every node and in Redis.
 * Anything read from Redis is untrusted: parseDecision() checks size, shape and ranges, and says
 * why it refused.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { labelsFromText } from '../guard/name-text.js';
import { anatomize } from '../guard/name-anatomy.js';
import { parseCidr } from '../util/cidr.js';
import { NODE_NAME } from '../config/schema.js';
import { FOREVER_SECONDS } from '../control/operator-duration.js';

/** Longest message accepted (a decision is a few hundred bytes). */
export const MAX_MESSAGE_BYTES = 4096;
/** The longest a block lasts (Tunnel Guard's ceiling), with a day of slack for clocks. */
const MAX_BLOCK_AHEAD_SECONDS = 8 * 86_400;
/** Operators may allow or quarantine for longer, up to "forever" (a century), with a day of slack. */
const MAX_OPERATOR_AHEAD_SECONDS = FOREVER_SECONDS + 86_400;
/** A version from further in the future than this is refused (it would win every later decision). */
const MAX_CLOCK_SKEW_MS = 10 * 60_000;

export type DecisionKind = 'block' | 'unblock' | 'allow' | 'quarantine' | 'release' | 'rate-block' | 'rate-unblock';

const domainName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9_.-]+$/)
  .refine((d) => {
    const labels = labelsFromText(d);
    if (labels.length === 0 || labels.join('.') !== d) return false;
    // Only a registered domain: never a public suffix (a hostile "com" would block a TLD).
    const a = anatomize(labels);
    return a.registeredDomain === d && a.publicSuffix !== d;
  }, 'expected a registered domain in lower case');

const address = z
  .string()
  .max(45)
  .refine((c) => isIP(c) !== 0, 'expected an IP address');
const range = z
  .string()
  .max(49)
  .refine((c) => typeof parseCidr(c) !== 'string', 'expected an address or CIDR range');

const decisionSchema = z
  .object({
    /** Message format version. */
    v: z.literal(1),
    id: z.string().regex(/^[0-9a-f-]{8,36}$/),
    kind: z.enum(['block', 'unblock', 'allow', 'quarantine', 'release', 'rate-block', 'rate-unblock']),
    /** The node that decided. */
    origin: z.string().regex(NODE_NAME),
    /** When it was decided (ms since the epoch): the newest version of a field wins. */
    version: z.number().int().positive(),
    /** When it was sent (ms), for the propagation lag. */
    sentAt: z.number().int().positive(),
    /** Until when it holds (seconds since the epoch); a tombstone (unblock, release) holds as long as what it lifted could have. */
    until: z.number().positive(),
    domain: domainName.optional(),
    client: z.string().max(49).optional(),
    scope: z.enum(['domain', 'client']).optional(),
    offenses: z.number().int().min(1).max(64).optional(),
    incident: z
      .string()
      .regex(/^TG-[0-9a-f]{8}$/)
      .optional(),
    /** The headline reason (what the answer's EDE text and `dnsward blocks` show). */
    reason: z.string().max(400).optional(),
    by: z.string().max(128).optional(),
    leaked: z.number().min(0).max(1e12).optional(),
    /** A dynamic block's client prefix (CIDR), the rule that fired and what its queries get. */
    prefix: z.string().max(49).optional(),
    rule: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .optional(),
    action: z.enum(['drop', 'refused', 'truncate', 'nxdomain']).optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    const need = (key: 'domain' | 'client' | 'scope' | 'incident' | 'prefix' | 'rule' | 'action', ok: boolean) => {
      if (!ok) ctx.addIssue({ code: 'custom', path: [key], message: `a ${d.kind} needs a valid ${key}` });
    };
    switch (d.kind) {
      case 'block':
        need('domain', d.domain !== undefined);
        need('scope', d.scope !== undefined);
        need('incident', d.incident !== undefined);
        need('client', d.client !== undefined && address.safeParse(d.client).success);
        break;
      case 'unblock':
        need('domain', d.domain !== undefined);
        break;
      case 'allow':
        need('domain', d.domain !== undefined || d.client !== undefined);
        if (d.client !== undefined) need('client', range.safeParse(d.client).success);
        break;
      case 'quarantine':
      case 'release':
        need('client', d.client !== undefined && range.safeParse(d.client).success);
        break;
      case 'rate-block':
        need('rule', d.rule !== undefined);
        need('action', d.action !== undefined);
        need('prefix', d.prefix !== undefined && range.safeParse(d.prefix).success);
        break;
      case 'rate-unblock':
        need('prefix', d.prefix !== undefined && range.safeParse(d.prefix).success);
        break;
    }
  });

export type Decision = z.output<typeof decisionSchema>;

/** Why a message was not applied (the `reason` label of dnsward_cluster_dropped_total). */
export type DropReason =
  | 'oversize'
  | 'malformed'
  | 'expired'
  | 'future'
  | 'stale'
  | 'allowlisted'
  | 'queue-full'
  | 'redis-error'
  | 'over-bound';

export type ParseResult = { ok: true; decision: Decision } | { ok: false; reason: DropReason; detail: string };

/** Checks a message from Redis; never throws. */
export function parseDecision(text: string | Buffer, nowMs: number): ParseResult {
  if (text.length > MAX_MESSAGE_BYTES) return { ok: false, reason: 'oversize', detail: `${text.length} bytes` };
  let raw: unknown;
  try {
    raw = JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'malformed', detail: (err as Error).message };
  }
  const parsed = decisionSchema.safeParse(raw);
  if (!parsed.success)
    return {
      ok: false,
      reason: 'malformed',
      detail: parsed.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')
        .slice(0, 300),
    };
  const d = parsed.data;
  if (d.version > nowMs + MAX_CLOCK_SKEW_MS) return { ok: false, reason: 'future', detail: `version ${d.version}` };
  const ahead =
    d.kind === 'block' || d.kind === 'unblock' || d.kind === 'rate-block' || d.kind === 'rate-unblock'
      ? MAX_BLOCK_AHEAD_SECONDS
      : MAX_OPERATOR_AHEAD_SECONDS;
  if (d.until > nowMs / 1000 + ahead) return { ok: false, reason: 'future', detail: `until ${d.until}` };
  if (d.until <= nowMs / 1000) return { ok: false, reason: 'expired', detail: `until ${d.until}` };
  return { ok: true, decision: d };
}

/**
 * What a decision is about: a later decision on the same field replaces it. A quarantine and its
 * release share a field, so do an allow's domain and range, and a dynamic block and its lift; a
 * block and its unblock do not (an unblock lifts every block on the domain, for everyone and per
 * client).
 */
export function decisionField(d: Pick<Decision, 'kind' | 'domain' | 'client' | 'scope' | 'prefix'>): string {
  switch (d.kind) {
    case 'block':
      return d.scope === 'client' ? `c|${d.client} ${d.domain}` : `b|${d.domain}`;
    case 'unblock':
      return `u|${d.domain}`;
    case 'allow':
      return `a|${d.domain ?? '*'}|${d.client ?? '*'}`;
    case 'quarantine':
    case 'release':
      return `q|${d.client}`;
    case 'rate-block':
    case 'rate-unblock':
      return `r|${d.prefix}`;
  }
}
