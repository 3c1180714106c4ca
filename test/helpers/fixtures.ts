import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The project's copy of the published samples, with their provenance in SOURCES.md (never edited). */
export const SAMPLES_DIR = join(ROOT, 'test', 'fixtures', 'cloudtrail-samples');
export const EVENTS_DIR = join(ROOT, 'events');

/** Parse a JSON fixture file. */
export function loadJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The names of the published sample files. */
export function sampleFiles(): string[] {
  return readdirSync(SAMPLES_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

/**
 * A realistic successful cross-account AssumeRole record, with overrides. As in CloudTrail, every event has its own
 * `sharedEventID` (derived from an overridden `eventID`), unless the overrides give one: two copies of one assume.
 */
export function assumeRecord(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base = (
    loadJson(join(EVENTS_DIR, 'eventbridge-assume-role-vendor.json')) as { detail: Record<string, unknown> }
  ).detail;
  const shared = typeof overrides.eventID === 'string' ? { sharedEventID: `shared-${overrides.eventID}` } : {};
  return { ...structuredClone(base), ...shared, ...overrides };
}
