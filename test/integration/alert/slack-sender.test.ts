import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { slackSender } from '../../../lib/alert/index.js';
import { type FakeServer, fakeSlack } from '../../helpers/fake-aws.js';

// The Slack sender posts with fetch (no Slack client in the function bundles): one JSON POST, no redirect followed,
// a timeout, and errors that carry Slack's HTTP status (the outbox decides retries on it) but never the URL.
describe('slackSender', () => {
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const start = async (server: Promise<FakeServer>) => {
    const s = await server;
    servers.push(s);
    return s;
  };

  it('posts the payload as JSON to the webhook', async () => {
    const slack = await start(fakeSlack());
    const payload = {
      text: 'roleguard critical',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*x*' } }],
    };
    await slackSender(`${slack.url}/services/T0/B0/secret`)(payload);
    expect(slack.received).toHaveLength(1);
    expect(slack.received[0]).toMatchObject({ method: 'POST', url: '/services/T0/B0/secret' });
    expect(slack.received[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(slack.received[0]!.body)).toEqual(payload);
  });

  it("fails with Slack's status (429, 500, 404) and never the URL", async () => {
    for (const status of [429, 500, 404]) {
      const slack = await start(fakeSlack([status]));
      const url = `${slack.url}/services/T0/B0/very-secret`;
      const failure = await slackSender(url)({ text: 'x', blocks: [] }).then(
        () => null,
        (error: unknown) => error as Error & { statusCode?: number },
      );
      expect(failure).toMatchObject({
        statusCode: status,
        message: `An HTTP protocol error occurred: statusCode = ${status}`,
      });
      expect(`${failure!.message} ${String(failure!.stack)}`).not.toContain('very-secret');
    }
  });

  it('follows no redirect', async () => {
    const target = await start(fakeSlack());
    const server = createServer((_req, res) => {
      res.writeHead(302, { location: `${target.url}/elsewhere` });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => new Promise((resolve) => server.close(() => resolve())) });
    const { port } = server.address() as AddressInfo;
    await expect(
      slackSender(`http://127.0.0.1:${port}/services/T0/B0/secret`)({ text: 'x', blocks: [] }),
    ).rejects.toThrow(/^A request error occurred: /);
    expect(target.received).toHaveLength(0);
  });

  it('gives up after its timeout, as a request error', async () => {
    const server = createServer(() => {
      // Never answers.
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({
      close: () =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    });
    const { port } = server.address() as AddressInfo;
    await expect(
      slackSender(`http://127.0.0.1:${port}/services/T0/B0/secret`, { timeoutMs: 200 })({ text: 'x', blocks: [] }),
    ).rejects.toThrow(/^A request error occurred: /);
  });

  it('refuses a webhook that is not a URL, without echoing it', () => {
    expect(() => slackSender('hooks.slack.com/services/T0/B0/secret')).toThrow('the Slack webhook secret is not a URL');
  });
});
