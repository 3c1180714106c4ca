import { type DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  cachedRegistry,
  createRegistryStore,
  type Registry,
  RegistryConflictError,
  RegistryError,
} from '../../lib/registry/index.js';
import { parseRegistryText } from '../../lib/registry/text.js';
import { createSessionsTable, createTestTables, testDynamo } from '../helpers/dynamo.js';

let doc: DynamoDBDocumentClient;
const registry = (vendor: string): Registry =>
  parseRegistryText(
    `roles:\n  - roleArn: arn:aws:iam::111122223333:role/vendors/ExampleCorpAudit\n    vendor: ${vendor}\n    trustedAccounts: ["999988887777"]\n    externalIds: { current: "ec-7Hq2vN9xK4pL8mR3" }\n`,
    'r.yaml',
  );

beforeAll(() => {
  doc = testDynamo();
});
afterAll(() => doc.destroy());

describe('registry table', () => {
  it('switches whole versions at once, keeps one step of history and deletes older ones', async () => {
    const { registryTable } = await createTestTables(doc, await createSessionsTable(doc));
    const store = createRegistryStore(doc, registryTable);
    expect(await store.load()).toEqual({ serviceRoleArns: [], protectedRoleArns: [], roles: [] });
    const versions: string[] = [];
    for (const vendor of ['One', 'Two', 'Three', 'Four']) versions.push(await store.replace(registry(vendor)));
    expect((await store.load()).roles[0]!.vendor).toBe('Four');
    const items = (await doc.send(new ScanCommand({ TableName: registryTable }))).Items ?? [];
    expect([...new Set(items.map((i) => String(i.pk)))].sort()).toEqual(
      ['registry', `v#${versions[2]}`, `v#${versions[3]}`].sort(),
    );
  });

  it('refuses an edit based on a read that another edit has overtaken, leaving that edit and no orphan version', async () => {
    const { registryTable } = await createTestTables(doc, await createSessionsTable(doc));
    const store = createRegistryStore(doc, registryTable);
    expect((await store.loadVersioned()).version).toBeNull();
    const base = await store.replace(registry('One'));
    // Two edits read the same version; the first writes; the second must not undo it.
    const first = await store.loadVersioned();
    const second = await store.loadVersioned();
    expect(first.version).toBe(base);
    const written = await store.replace(registry('First'), { expectedVersion: first.version });
    await expect(store.replace(registry('Second'), { expectedVersion: second.version })).rejects.toThrow(
      RegistryConflictError,
    );
    expect(await store.loadVersioned()).toEqual({ registry: registry('First'), version: written });
    // A first import based on "nothing imported yet" is refused once something was.
    await expect(store.replace(registry('Fresh'), { expectedVersion: null })).rejects.toThrow(RegistryConflictError);
    const items = (await doc.send(new ScanCommand({ TableName: registryTable }))).Items ?? [];
    expect([...new Set(items.map((i) => String(i.pk)))].sort()).toEqual(
      ['registry', `v#${base}`, `v#${written}`].sort(),
    );
  });

  it('refuses to load a hand-edited registry that no longer validates, rather than half-load it', async () => {
    const { registryTable } = await createTestTables(doc, await createSessionsTable(doc));
    const store = createRegistryStore(doc, registryTable);
    const version = await store.replace(registry('One'));
    await doc.send(
      new PutCommand({
        TableName: registryTable,
        Item: { pk: `v#${version}`, sk: 'role#broken', role: { roleArn: 'not-an-arn' } },
      }),
    );
    await expect(store.load()).rejects.toThrow(RegistryError);
    await expect(store.load()).rejects.toThrow(new RegExp(`DynamoDB table ${registryTable} version ${version}`));
  });

  it('caches the registry for the configured time and never caches a failed load', async () => {
    let loads = 0;
    let fail = true;
    const fake = {
      load: async () => {
        loads++;
        if (fail) throw new Error('throttled');
        return registry('Cached');
      },
      replace: async () => 'v',
    };
    let now = 0;
    const cache = cachedRegistry(fake, 60_000, () => now);
    await expect(cache.get()).rejects.toThrow('throttled');
    fail = false;
    expect((await cache.get()).roles[0]!.vendor).toBe('Cached');
    now = 59_000;
    await cache.get();
    expect(loads).toBe(2);
    now = 61_000;
    await cache.get();
    expect(loads).toBe(3);
  });
});
