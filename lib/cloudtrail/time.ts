const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11,
};

// "Oct 2, 2019, 11:12:29 PM" and the older "Jan 22, 2021 3:59:16 AM" (no comma after the year).
const EXPIRATION = /^([A-Z][a-z]{2}) (\d{1,2}), (\d{4}),? (\d{1,2}):(\d{2}):(\d{2}) ?([AP]M)$/;
// ISO-8601 with a zone, as CloudTrail writes eventTime; Panther-style "YYYY-MM-DD HH:MM:SS[.fffffffff]" is UTC.
const ISO_WITH_ZONE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
const SPACED_UTC = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;

function utc(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms = 0,
): Date | null {
  if (month < 0 || month > 11 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const date = new Date(Date.UTC(year, month, day, hour, minute, second, ms));
  // Reject dates JavaScript would silently roll over, such as Feb 30.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month || date.getUTCDate() !== day) return null;
  return date;
}

/** ISO-8601 UTC with a `Z`, without milliseconds when they are zero (CloudTrail's own style). */
export function formatIsoUtc(date: Date): string {
  const iso = date.toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

/**
 * Parse `responseElements.credentials.expiration`. CloudTrail writes it in US English, in UTC with no zone,
 * with or without a comma after the year. `12:xx AM` is just after midnight. Returns null when it can't be read:
 * an unknown expiry is not an error.
 */
export function parseCloudTrailExpiration(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  const match = EXPIRATION.exec(text);
  if (!match) return parseCloudTrailEventTime(text);
  const [, mon, day, year, hour12, minute, second, ampm] = match;
  const month = MONTHS[mon!];
  const h = Number(hour12);
  if (month === undefined || h < 1 || h > 12) return null;
  const hour = (h % 12) + (ampm === 'PM' ? 12 : 0);
  return utc(Number(year), month, Number(day), hour, Number(minute), Number(second));
}

/**
 * Parse `eventTime`: ISO-8601 with a zone as CloudTrail writes it, or the zone-less
 * "YYYY-MM-DD HH:MM:SS[.f]" of normalising pipelines, read as UTC. Null when it is not a valid instant.
 */
export function parseCloudTrailEventTime(value: unknown): Date | null {
  if (typeof value !== 'string' || value.length > 40) return null;
  const iso = ISO_WITH_ZONE.exec(value);
  const spaced = iso ? null : SPACED_UTC.exec(value);
  const m = iso ?? spaced;
  if (!m) return null;
  const ms = m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0;
  const date = utc(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms);
  if (!date) return null;
  const zone = iso ? m[8]! : 'Z';
  if (zone === 'Z') return date;
  const sign = zone.startsWith('-') ? -1 : 1;
  const offsetMinutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6));
  if (offsetMinutes > 14 * 60) return null;
  return new Date(date.getTime() - sign * offsetMinutes * 60_000);
}
