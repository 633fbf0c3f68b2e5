/**
 * What `blocks` answers (the control command, and GET /api/blocks): Tunnel Guard's blocks, the
 * operators' allows and quarantines, dynamic blocks, the cluster link and the latest changes.
 * Types only: the CLI and the web console read the same shape.
 */
import type { StageReport } from '../guard/verdict.js';

export interface BlocksReply {
  mode: string;
  blocks: Array<{
    domain: string;
    scope?: 'domain' | 'client';
    incident: string;
    since: number;
    until: number;
    offenses: number;
    client: string;
    leakedBytes: number;
    reasons: string[];
    stages: StageReport[];
    origin?: string | null;
  }>;
  allows: Array<{ domain?: string; client?: string; until: number; by: string; origin?: string | null }>;
  quarantines: Array<{ client: string; until: number; by: string; incident: string; origin?: string | null }>;
  dynamic: Array<{
    prefix: string;
    rule: string;
    action: string;
    since: number;
    until: number;
    reason: string;
    extensions: number;
  }>;
  /** In a cluster: this node's name, and whether it reaches Redis. */
  cluster?: { node: string; connected: boolean } | null;
  audit: Array<{ at: number; who: string; action: string; subject: string; comment?: string }>;
}
