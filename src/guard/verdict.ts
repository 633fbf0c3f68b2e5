/** What Tunnel Guard decides about one query, and the stage-by-stage trace of why. */
export type GuardAction = 'allow' | 'monitor' | 'block';

/** Tunnel Guard's stages, and `defence` for a dynamic block's evidence (the same trace shape in every event). */
export type StageName = 'anatomy' | 'query' | 'state' | 'normal' | 'decision' | 'defence';

export type EvidenceValue = number | string | boolean | string[];

export interface StageReport {
  name: StageName;
  /** 0 (nothing unusual) .. 1 (certain tunnel) for this stage's own evidence. */
  score: number;
  evidence: Record<string, EvidenceValue>;
}

export interface Verdict {
  action: GuardAction;
  /**
   * A block of this query only, of the whole registered domain, of this registered domain for
   * this client only (a domain many others use normally), of the client (quarantine), or none.
   */
  scope: 'none' | 'query' | 'domain' | 'client-domain' | 'client';
  domain: string;
  score: number;
  reasons: string[];
  stages: StageReport[];
  /** Set when a domain block (or a client-scoped one) starts or is in force. */
  incident?: string;
  /** Estimated payload bytes this client moved through the domain so far. */
  leakedBytes: number;
  /** When the registered domain was first seen (seconds). */
  firstSeen: number;
}

export type Sensitivity = 'low' | 'medium' | 'high';

/** Budget scale per sensitivity: the one setting an operator may change. */
export const SENSITIVITY_SCALE: Record<Sensitivity, number> = { low: 2, medium: 1, high: 0.5 };
