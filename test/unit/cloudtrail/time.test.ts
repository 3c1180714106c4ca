import { describe, expect, it } from '@jest/globals';
import { formatIsoUtc, parseCloudTrailEventTime, parseCloudTrailExpiration } from '../../../lib/cloudtrail/time.js';

const iso = (d: Date | null) => (d ? formatIsoUtc(d) : null);

describe('parseCloudTrailExpiration', () => {
  it.each([
    ['Oct 2, 2019, 11:12:29 PM', '2019-10-02T23:12:29Z'],
    ['Jan 22, 2021 3:59:16 AM', '2021-01-22T03:59:16Z'], // older format: no comma after the year
    ['Aug 13, 2020, 12:03:12 AM', '2020-08-13T00:03:12Z'], // 12 AM is just after midnight: the date has rolled over
    ['Jul 30, 2024, 12:00:00 PM', '2024-07-30T12:00:00Z'], // 12 PM is noon
    ['Dec 31, 2024, 11:59:59 PM', '2024-12-31T23:59:59Z'],
    ['Feb 29, 2024, 1:02:03 AM', '2024-02-29T01:02:03Z'],
    ['2026-03-28T11:20:33Z', '2026-03-28T11:20:33Z'], // ISO, as some tools rewrite it
  ])('%s is %s UTC, whatever the local zone', (text, expected) => {
    expect(iso(parseCloudTrailExpiration(text))).toBe(expected);
  });

  it.each([
    ['Feb 30, 2024, 1:00:00 AM'],
    ['Feb 29, 2023, 1:00:00 AM'],
    ['Foo 2, 2019, 11:12:29 PM'],
    ['Oct 2, 2019, 13:12:29 PM'],
    ['Oct 2, 2019, 0:12:29 AM'],
    ['Oct 2, 2019, 11:60:29 PM'],
    ['Oct 2, 2019, 11:12:29'],
    [''],
    [null],
    [42],
    [{}],
  ])('%p is unknown (null), not an error', (value) => {
    expect(parseCloudTrailExpiration(value)).toBeNull();
  });
});

describe('parseCloudTrailEventTime', () => {
  it.each([
    ['2024-07-30T21:31:15Z', '2024-07-30T21:31:15Z'],
    ['2024-07-30T21:31:15.250Z', '2024-07-30T21:31:15.250Z'],
    ['2024-07-30T23:31:15+02:00', '2024-07-30T21:31:15Z'],
    ['2024-12-12 16:04:32.000000000', '2024-12-12T16:04:32Z'], // normalised pipelines (Panther): UTC without a zone
    ['2024-06-02 20:27:12', '2024-06-02T20:27:12Z'],
  ])('%s is %s', (text, expected) => {
    expect(iso(parseCloudTrailEventTime(text))).toBe(expected);
  });

  it.each([
    ['2024-02-30T00:00:00Z'],
    ['2024-07-30T21:31:15'],
    ['yesterday'],
    ['2024-07-30T25:00:00Z'],
    ['2024-07-30T21:31:15+15:00'],
    [1722375075],
    [null],
    ['9'.repeat(100)],
  ])('%p is not a timestamp', (value) => {
    expect(parseCloudTrailEventTime(value)).toBeNull();
  });
});
