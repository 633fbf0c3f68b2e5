/**
 * A security event as the fleet stream carries it (fleet-events.ts): the event's own JSON, the
 * same text the node's sinks get. What any node reads back from Redis is untrusted: another node
 * (or whoever can write to Redis) wrote it, and the console shows it. parseFleetEvent() checks
 * size, shape and ranges and builds a fresh object of the known fields only (no prototype
 * tricks, no unknown keys reaching the browser); it says why it refused.
 */
import { z } from 'zod';
import { NODE_NAME } from '../config/schema.js';
import { SECURITY_EVENT_TYPES, type SecurityEvent } from '../events/security-event.js';

/** Largest entry written or accepted: an event with its stage trace and samples is a few KiB. */
export const MAX_FLEET_EVENT_BYTES = 16_384;

const text = (max: number) => z.string().max(max);
const evidenceValue = z.union([z.number(), text(1024), z.boolean(), z.array(text(512)).max(32)]);

const fleetEventSchema = z.object({
  id: text(64).min(1),
  time: text(40).refine((t) => !Number.isNaN(Date.parse(t)), 'expected an ISO 8601 time'),
  type: z.enum(SECURITY_EVENT_TYPES),
  severity: z.number().int().min(1).max(10),
  node: z.string().regex(NODE_NAME),
  client: text(64).optional(),
  domain: text(253).optional(),
  qname: text(1024).optional(),
  action: text(32).optional(),
  enforced: z.boolean().optional(),
  incident: text(32).optional(),
  leakedBytes: z.number().min(0).max(1e12).optional(),
  samples: z.array(text(1024)).max(32).optional(),
  reasons: z.array(text(2048)).max(32),
  stages: z
    .array(
      z.object({
        name: z.enum(['anatomy', 'query', 'state', 'normal', 'decision', 'defence', 'flood']),
        score: z.number(),
        evidence: z.record(text(64), evidenceValue),
      }),
    )
    .max(16),
  operator: text(128).optional(),
  policy: z
    .object({
      group: text(128),
      feed: text(256),
      category: text(128),
      version: text(128),
      rule: text(1024),
      line: z.number().int().min(0),
    })
    .optional(),
});

export type FleetEventResult = { ok: true; event: SecurityEvent } | { ok: false; reason: string };

export function parseFleetEvent(raw: string | Buffer): FleetEventResult {
  if (raw.length > MAX_FLEET_EVENT_BYTES) return { ok: false, reason: `over ${MAX_FLEET_EVENT_BYTES} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(raw.toString());
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  return checkFleetEvent(json);
}

/** The schema's check of parsed JSON (the caller bounded its size). */
export function checkFleetEvent(json: unknown): FleetEventResult {
  const parsed = fleetEventSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `${issue?.path.join('.') || 'event'}: ${issue?.message ?? 'invalid'}` };
  }
  return { ok: true, event: parsed.data as SecurityEvent };
}
