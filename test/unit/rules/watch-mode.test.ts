import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { classifyRecord } from '../../../lib/cloudtrail/classify.js';
import type { AssumeEvent } from '../../../lib/cloudtrail/types.js';
import { detectAssume, type Finding } from '../../../lib/detect/index.js';
import { indexRegistry } from '../../../lib/registry/index.js';
import { parseRegistryText } from '../../../lib/registry/text.js';
import { assumeRecord, EVENTS_DIR, loadJson } from '../../helpers/fixtures.js';

// Watch mode (`externalIds: none`): a role whose trust policy requires no external ID is registered anyway, and every
// assume from another account is a missing-external-id finding, whatever ID the caller sent.
const ROLE = 'arn:aws:iam::111122223333:role/LegacyBackupVendor';
const index = indexRegistry(
  parseRegistryText(
    `roles:
  - roleArn: ${ROLE}
    vendor: Legacy Backup
    trustedAccounts: ["777788889999"]
    externalIds: none
`,
    'watch.yaml',
  ),
);

function assume(options: { externalId?: string | null; account?: string } = {}): AssumeEvent {
  const base = assumeRecord({ eventID: `w-${Math.random()}` });
  const params: Record<string, unknown> = { ...(base.requestParameters as Record<string, unknown>), roleArn: ROLE };
  if (options.externalId === null || options.externalId === undefined) delete params.externalId;
  else params.externalId = options.externalId;
  const account = options.account ?? '777788889999';
  const event = classifyRecord(
    {
      ...base,
      requestParameters: params,
      userIdentity: { type: 'AWSAccount', principalId: `AIDA${account}`, accountId: account },
    },
    { recordAwsServiceAssumes: false },
  );
  if (event.kind !== 'assume') throw new Error('not an assume');
  return event;
}
const kinds = (findings: Finding[]) => findings.map((f) => [f.kind, f.severity]);

describe('watch mode (externalIds: none)', () => {
  it('reports every assume from another account as missing-external-id, also one that sent an ID', () => {
    const none = detectAssume(assume(), index);
    expect(kinds(none)).toEqual([['missing-external-id', 'critical']]);
    expect(none[0]!.message).toContain('watch mode (externalIds: none)');
    const withId = detectAssume(assume({ externalId: 'whatever-they-send' }), index);
    // The policy checks no ID, so the one sent proves nothing: not "unexpected", still "missing".
    expect(kinds(withId)).toEqual([['missing-external-id', 'critical']]);
    expect(withId[0]!.message).not.toContain('whatever-they-send');
  });

  it('still reports an untrusted account, and nothing for the role account itself or a denied assume', () => {
    expect(kinds(detectAssume(assume({ account: '444455556666' }), index))).toEqual([
      ['missing-external-id', 'critical'],
      ['untrusted-account', 'critical'],
    ]);
    expect(detectAssume(assume({ account: '111122223333' }), index)).toEqual([]);
    const denied = classifyRecord(
      (loadJson(join(EVENTS_DIR, 'eventbridge-assume-role-denied.json')) as { detail: Record<string, unknown> }).detail,
      { recordAwsServiceAssumes: false },
    ) as AssumeEvent;
    expect(kinds(detectAssume({ ...denied, roleArn: ROLE }, index)).map(([k]) => k)).not.toContain(
      'missing-external-id',
    );
  });
});
