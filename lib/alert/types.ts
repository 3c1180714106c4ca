import type { Finding } from '../detect/types.js';

/** One alert: the first finding of its kind for a role and caller, and how often it repeated in the window. */
export interface Alert {
  alertId: string;
  finding: Finding;
  /** Findings merged into this alert (1 for a first occurrence). */
  count: number;
  firstAt: string;
  lastAt: string;
  /** What the service did about it, or would do in dry-run, in words. */
  action: string;
  /** The next step for a human, in words. */
  nextStep: string;
  /** The role's whole revocation policy after what roleguard did (or would do, in a dry run), when it revoked. */
  policy?: { name: string; document: unknown };
  /** True for the follow-up that reports repeats once the merge window has closed. */
  repeatSummary?: boolean;
}

export type Channel = 'slack' | 'sns';
