import type { CoverageCell, Gap, GapSource } from './coverage.js';

const str = (v: unknown) => (typeof v === 'string' ? v : null);

/** A stored item as a cell. */
export function cellOf(item: Record<string, unknown>): CoverageCell {
  const gap = (source: GapSource): Gap | undefined => {
    const openedAt = str(item[`${source}GapAt`]);
    return openedAt ? { openedAt, reason: str(item[`${source}GapReason`]) ?? '' } : undefined;
  };
  const gaps: CoverageCell['gaps'] = {};
  for (const source of ['deploy', 'canary'] as const) {
    const g = gap(source);
    if (g) gaps[source] = g;
  }
  const canaryId = str(item.canaryId);
  return {
    account: String(item.account),
    region: String(item.region),
    expected: item.expected === true,
    deployStatus: str(item.deployStatus),
    syncedAt: str(item.syncedAt),
    lastEventAt: str(item.lastEventAt),
    lastEventName: str(item.lastEventName),
    canary: canaryId
      ? {
          id: canaryId,
          sentAt: String(item.canarySentAt),
          backId: str(item.canaryBackId),
          backAt: str(item.canaryBackAt),
          error: str(item.canaryError),
        }
      : null,
    canaryIds: Array.isArray(item.canaryIds) ? item.canaryIds.map(String) : [],
    gaps,
  };
}
