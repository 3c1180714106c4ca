import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../../../lib/config.js';

const base = { SESSIONS_TABLE: 's', REGISTRY_TABLE: 'r', ALERTS_TABLE: 'a' };

describe('the organization hub settings (ORG_ID, HUB_ACCOUNT_ID, HOME_REGION, SPOKE_ROLE_NAME)', () => {
  it('reads them, and a hub without them (an organization of one) still loads', () => {
    expect(
      loadConfig({
        ...base,
        ORG_ID: 'o-abc123def4',
        HUB_ACCOUNT_ID: '111122223333',
        HOME_REGION: 'eu-west-1',
        SPOKE_ROLE_NAME: 'roleguard-prod-spoke',
      }),
    ).toMatchObject({
      orgId: 'o-abc123def4',
      hubAccountId: '111122223333',
      homeRegion: 'eu-west-1',
      spokeRoleName: 'roleguard-prod-spoke',
    });
    // The stack sets ORG_ID to "" without an organization.
    expect(loadConfig({ ...base, ORG_ID: '' })).toMatchObject({ orgId: null, hubAccountId: null, homeRegion: null });
  });

  it('names every bad value', () => {
    expect(() =>
      loadConfig({ ...base, ORG_ID: 'abc', HUB_ACCOUNT_ID: '1234', HOME_REGION: 'Europe', SPOKE_ROLE_NAME: 'a/b' }),
    ).toThrow(
      /ORG_ID must be an organization id.*HUB_ACCOUNT_ID must be a 12-digit account id.*HOME_REGION must be a Region.*SPOKE_ROLE_NAME must be a role name/,
    );
  });
});
