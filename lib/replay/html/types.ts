import type { Registry } from '../../registry/types.js';
import type { Rotation } from '../../rotate/index.js';
import type { ReplayReport } from '../report.js';

/** What the replay read, as the replay counted it: every event, not only the STS ones the report keeps. */
export interface Coverage {
  /** CloudTrail files read. */
  files: number;
  /** Accounts the events were recorded in (recipientAccountId). */
  accounts: string[];
  /** Regions the events came from (awsRegion). */
  regions: string[];
  /** eventTime of the earliest and the latest event read. */
  from: string | null;
  to: string | null;
}

/** What the backtest report is made of. */
export interface HtmlReportInput {
  report: ReplayReport;
  registry: Registry;
  rotations: Rotation[];
  /** When the report was made (shown as given, and the reference for "overdue": the report reads no clock). */
  generatedAt: string;
  title?: string;
  /** What the input covered; without it, the report tells it from the sessions it holds, and says so. */
  coverage?: Coverage;
  /** Where the runbook is, as a link from the page (default `docs/runbook.md`, relative to the checkout). */
  runbook?: string;
}
