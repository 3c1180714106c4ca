import { IAMClient } from '@aws-sdk/client-iam';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from '@jest/globals';
import { createDeps } from '../../lib/deps.js';
import { type ProcessOutcome, processRecord } from '../../lib/pipeline.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { liveRevoker } from '../../lib/revoke/service.js';
import { createRevocationStore } from '../../lib/revoke/store.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';
import { useLiveParts } from '../helpers/live-parts.js';
import { memoryLogger } from '../helpers/logger.js';
import { type EmulatedIam, vendorAssume } from '../helpers/revocation.js';

// "Did the caller come back after a revocation?" on a benign assume: the vendor's own assume is never that finding,
// so it costs no read; any other caller's assume reads the marker, whichever instance wrote it.
const ROLE = 'arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit';
const GOOD = 'ec-7Hq2vN9xK4pL8mR3';
const WRONG = 'tenant-4711-of-example-corp';
const REGISTRY = `
roles:
  - roleArn: ${ROLE}
    vendor: Example Corp
    trustedAccounts: ["999988887777"]
    externalIds: { current: "${GOOD}" }
    response: revoke
`;

let doc: DynamoDBDocumentClient;
let iam: EmulatedIam;
useLiveParts((parts) => {
  ({ doc, iam } = parts);
});

/** One Lambda instance: its own client (whose calls are counted), cache and revoker, over the shared tables. */
function instance(config: Awaited<ReturnType<typeof createTestTables>>) {
  const calls: string[] = [];
  const client = testDynamo();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(String(context.commandName).replace(/Command$/, ''));
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  const { logger } = memoryLogger();
  const deps = createDeps(config, {
    dynamo: client,
    logger,
    registry: parseRegistryText(REGISTRY, 'r.yaml'),
    revoker: liveRevoker({
      iam: new IAMClient({ region: 'us-east-1' }),
      dynamo: client,
      store: createRevocationStore(client, config.revocationsTable!),
      logger,
      retry: { baseMs: 1 },
    }),
  });
  const process = (record: Record<string, unknown>) =>
    processRecord(record, deps, { now: (e) => new Date(Date.parse('issuedAt' in e ? e.issuedAt : '') + 3000) });
  return { calls, process, close: () => client.destroy() };
}

const kinds = (o: ProcessOutcome) => ('findings' in o ? o.findings.map((f) => f.kind) : []);

describe('the revoked-caller check of a benign assume', () => {
  it("costs the vendor's own assume no read, and another caller still sees a marker another instance wrote", async () => {
    const config = await createTestTables(doc, await createSessionsTable(doc));
    const a = instance(config);
    const b = instance(config);
    const attacker = { principal: 'AIDAATTACKERTENANT01' };
    // Instance A is warm (registry cached, the role's RoleId noted) before B revokes anything.
    await a.process(vendorAssume({ id: 'warm-1', time: '2026-11-02T10:00:00Z', session: 'w-1', externalId: GOOD }));
    // Instance B revokes a session of the attacker (who shares the vendor's account) and writes the caller's marker.
    expect(
      kinds(
        await b.process(
          vendorAssume({ id: 'wrong-1', time: '2026-11-02T10:05:00Z', session: 's-1', externalId: WRONG, ...attacker }),
        ),
      ),
    ).toEqual(['unexpected-external-id']);
    expect(iam.puts()).toBe(1);
    // On A, the vendor's own assume with the registered ID: one call, the session's conditional PutItem.
    a.calls.length = 0;
    const vendor = await a.process(
      vendorAssume({ id: 'good-1', time: '2026-11-02T10:20:00Z', session: 's-2', externalId: GOOD, ...attacker }),
    );
    expect(kinds(vendor)).toEqual([]);
    expect(a.calls).toEqual(['PutItem']);
    // On A, the same caller without the registered ID: A reads B's marker and says the caller came back.
    const back = await a.process(
      vendorAssume({ id: 'none-1', time: '2026-11-02T10:21:00Z', session: 's-3', externalId: null, ...attacker }),
    );
    expect(kinds(back)).toEqual(['missing-external-id', 'assumed-after-revocation']);
    // A same-account principal of the role's own account is no vendor either: its assume pays the read (no marker).
    a.calls.length = 0;
    const local = await a.process(
      vendorAssume({
        id: 'local-1',
        time: '2026-11-02T10:22:00Z',
        session: 's-4',
        externalId: GOOD,
        account: '111122223333',
        principal: 'AIDALOCALUSER0000001',
      }),
    );
    expect(kinds(local)).toEqual([]);
    expect(a.calls).toEqual(['GetItem', 'PutItem']);
    a.close();
    b.close();
  });
});
