import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { focusedTestId, launchBrowser, screenshot, watchPageProblems } from '../support/browser.js';
import {
  type ConsoleServer,
  issue,
  requireConsoleTestSetup,
  signIn,
  startConsoleServer,
  waitReady,
} from '../support/console-server.js';

// The Operations pages in Debian's Chromium against a real server from dist/: who sees them,
// the metrics, alerts, audit log, signing keys and simulator, tokens (issued, used, revoked),
// backups, a narrow dark screen, and the way back to sign-in when the token ends.
requireConsoleTestSetup();

let browser: Browser;
let server: ConsoleServer;

beforeAll(async () => {
  browser = await launchBrowser();
  server = await startConsoleServer();
  await waitReady(server);
});
afterAll(async () => {
  await browser?.close();
  server?.child.kill('SIGKILL');
});

/** A POST of `body` as JSON to the server, as the holder of `token`. */
function postAs(token: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('console: operations dashboard', () => {
  it('is hidden from a principal the policies do not allow, and the API refuses them too', async () => {
    const token = issue(server, 'reader@example.com');
    const context = await browser.newContext();
    const page = await signIn(context, server, token);
    const problems = watchPageProblems(page);
    await page.waitForLoadState('networkidle');
    expect(await page.getByTestId('nav-ops').count()).toBe(0);
    await page.goto(`${server.url}/#/ops/audit`);
    await page.getByTestId('ops-denied').waitFor();
    expect(await page.getByTestId('ops-audit').count()).toBe(0);
    for (const path of [
      '/admin/audit',
      '/admin/alerts',
      '/admin/metrics/series',
      '/admin/tokens',
      '/admin/backups',
    ]) {
      const response = await fetch(`${server.url}${path}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status, path).toBe(403);
    }
    // The same refusal through the console's own cookie.
    const viaCookie = await page.evaluate<number>(
      "fetch('/admin/audit', { credentials: 'same-origin' }).then((response) => response.status)",
    );
    expect(viaCookie).toBe(403);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('shows charts with data after some traffic, the alert rules and the audit log', async () => {
    const token = issue(server, 'ops@example.com', '--admin');
    // Traffic for the charts: chats through the API.
    for (let index = 0; index < 5; index++) {
      const response = await postAs(token, '/v1/chat', {
        messages: [{ role: 'user', content: `ping ${index}` }],
      });
      expect(response.status).toBe(200);
    }
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const page = await signIn(context, server, token);
    const problems = watchPageProblems(page);
    await page.getByTestId('nav-ops').click();
    await page.getByTestId('ops-charts').waitFor();
    // A slot of the series closes every 10 s; the charts refresh every 10 s.
    const requests = page.locator(
      '[data-testid="ops-chart"][data-series="requests_per_second:avg"]',
    );
    await expect
      .poll(() => requests.getAttribute('data-has-data'), { timeout: 30_000, interval: 1000 })
      .toBe('true');
    await screenshot(page, 'ops-charts-1440');

    await page.getByTestId('ops-tab-alerts').click();
    await page.getByTestId('alerts-table').waitFor();
    expect(await page.getByTestId('alert-row').count()).toBe(3);

    await page.getByTestId('ops-tab-audit').click();
    await page.getByTestId('audit-table').waitFor();
    await expect.poll(() => page.getByTestId('audit-row').count()).toBeGreaterThan(5);
    // The action filter's hint is an action the log really holds (`verb:object`).
    const hint = await page.getByTestId('audit-filter-action').getAttribute('placeholder');
    const example = /^e\.g\. (\S+)$/.exec(hint ?? '')?.[1];
    const actions = await page.locator('[data-testid="audit-row"] code').allTextContents();
    expect(actions).toContain(example);
    await page.getByTestId('audit-verify').click();
    await expect
      .poll(() => page.getByTestId('audit-verify-result').getAttribute('data-intact'))
      .toBe('true');
    await screenshot(page, 'ops-audit-1440');

    await page.getByTestId('ops-tab-keys').click();
    await page.getByTestId('keys-table').waitFor();
    await expect
      .poll(() => page.locator('[data-testid="key-row"][data-status="active"]').count())
      .toBe(1);

    await page.getByTestId('ops-tab-simulator').click();
    const simulate = async (principal: string, action: string, resource: string) => {
      await page.getByTestId('sim-principal').fill(principal);
      await page.getByTestId('sim-action').fill(action);
      await page.getByTestId('sim-resource').fill(resource);
      await page.getByTestId('sim-submit').click();
      const result = page.getByTestId('sim-result');
      await expect.poll(() => result.getAttribute('data-reason')).toBeTruthy();
      return result;
    };
    const allowed = await simulate('alice@example.com', 'create:chat', '/v1/chat');
    await expect.poll(() => allowed.getAttribute('data-allowed')).toBe('true');
    const denied = await simulate('alice@example.com', 'list:audit', '/admin/audit');
    await expect.poll(() => denied.getAttribute('data-allowed')).toBe('false');
    expect(await denied.getAttribute('data-reason')).toBe('default-deny');
    await screenshot(page, 'ops-simulator-1440');
    expect(problems).toEqual([]);
    await context.close();
  });

  it('issues a token shown once, which works until it is revoked from the table', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const page = await signIn(context, server, issue(server, 'ops@example.com', '--admin'));
    const problems = watchPageProblems(page);
    await page.getByTestId('nav-ops').click();
    await page.getByTestId('ops-tab-tokens').click();
    await page.getByTestId('tokens-table').waitFor();
    await expect.poll(() => page.getByTestId('token-row').count()).toBeGreaterThan(0);

    // The form checks what it can before asking the server.
    await page.getByTestId('token-principal').fill('carol@example.com');
    await page.getByTestId('token-ttl').fill('3 days');
    await page.getByTestId('token-issue').click();
    await page.getByTestId('token-ttl-error').waitFor();
    expect(await page.getByTestId('token-ttl').getAttribute('aria-invalid')).toBe('true');
    await page.getByTestId('token-ttl').fill('1h');
    await page.getByTestId('token-groups').fill('support, ops');
    await page.getByTestId('token-issue').click();

    const panel = page.getByTestId('issued-token-panel');
    await panel.waitFor();
    expect(await panel.textContent()).toContain('it will not be shown again');
    const token = await page.getByTestId('issued-token').inputValue();
    expect(token).toMatch(/^eyJ/);
    // Focused and selected, ready to copy; the form is empty again.
    await expect.poll(() => focusedTestId(page)).toBe('issued-token');
    expect(await page.getByTestId('token-principal').inputValue()).toBe('');
    // Shown in the page only: not in the URL, not in storage.
    expect(page.url()).not.toContain(token);
    expect(
      await page.evaluate<string>('JSON.stringify(localStorage) + JSON.stringify(sessionStorage)'),
    ).not.toContain(token.slice(0, 40));

    const id = await panel.getAttribute('data-id');
    const row = page.locator(`[data-testid="token-row"][data-id="${id}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-principal')).toBe('carol@example.com');
    expect(await row.getAttribute('data-status')).toBe('active');
    expect(await row.textContent()).toContain('support, ops');

    const models = async () =>
      (await fetch(`${server.url}/v1/models`, { headers: { authorization: `Bearer ${token}` } }))
        .status;
    expect(await models()).toBe(200);

    // Revoke asks first; Escape keeps the token and puts focus back on the button.
    await row.getByTestId('token-revoke').click();
    await row.getByTestId('token-revoke-confirm').waitFor();
    // Focus moves to the confirm button in an effect, after the next paint; Escape is handled
    // where focus is, so it is pressed once focus is there, as it would be for a person.
    await expect.poll(() => focusedTestId(page)).toBe('token-revoke-confirm');
    await page.keyboard.press('Escape');
    // Preact re-renders after the key event returns: wait for the confirmation to go.
    await row.getByTestId('token-revoke-confirm').waitFor({ state: 'detached' });
    expect(await row.getByTestId('token-revoke-confirm').count()).toBe(0);
    // Focus moves in an effect, which Preact runs after the next paint: polled, not read once.
    await expect.poll(() => focusedTestId(page)).toBe('token-revoke');
    await page.keyboard.press('Enter');
    await row.getByTestId('token-revoke-confirm').click();
    await expect.poll(() => row.getAttribute('data-status')).toBe('revoked');
    expect(await row.getByTestId('token-revoke').count()).toBe(0);
    expect(await models()).toBe(401);
    // The server agrees after a reload of the list.
    await page.getByTestId('tokens-refresh').click();
    await expect.poll(() => row.getAttribute('data-status')).toBe('revoked');
    await screenshot(page, 'tokens-1440');

    await page.getByTestId('issued-token-dismiss').click();
    expect(await page.getByTestId('issued-token').count()).toBe(0);
    expect(await page.content()).not.toContain(token);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('backs up now: the run shows its snapshot, which the list holds', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const page = await signIn(context, server, issue(server, 'ops@example.com', '--admin'));
    const problems = watchPageProblems(page);
    await page.getByTestId('nav-ops').click();
    await page.getByTestId('ops-tab-backups').click();
    await page.getByTestId('backup-config').waitFor();
    expect(await page.getByTestId('backup-snapshot-row').count()).toBe(0);
    expect(await page.getByTestId('backup-log-shipping').textContent()).toContain('Failures');

    await page.getByTestId('backup-now').click();
    const lastRun = page.getByTestId('backup-last-run');
    await expect
      .poll(() => lastRun.getAttribute('data-snapshot'), { timeout: 30_000 })
      .toBeTruthy();
    const snapshot = await lastRun.getAttribute('data-snapshot');
    expect(await lastRun.getAttribute('data-failed')).toBe('false');
    await expect.poll(() => page.getByTestId('backup-snapshot-row').count()).toBe(1);
    expect(await page.getByTestId('backup-snapshot-row').getAttribute('data-id')).toBe(snapshot);
    await expect.poll(() => page.getByTestId('backup-now').isDisabled()).toBe(false);
    await screenshot(page, 'backups-1440');
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('shows tokens and backups at 360 px in the dark theme without widening the page', async () => {
    const context = await browser.newContext({
      viewport: { width: 360, height: 740 },
      colorScheme: 'dark',
    });
    const page = await signIn(context, server, issue(server, 'ops@example.com', '--admin'));
    const problems = watchPageProblems(page);
    await page.goto(`${server.url}/#/ops/tokens`);
    await page.getByTestId('tokens-table').waitFor();
    await expect.poll(() => page.getByTestId('token-row').count()).toBeGreaterThan(0);
    await page.getByTestId('token-principal').fill('dana@example.com');
    await page.getByTestId('token-issue').click();
    await page.getByTestId('issued-token-panel').waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
      360,
    );
    await screenshot(page, 'tokens-360-dark');
    await page.getByTestId('issued-token-dismiss').click();
    await page.getByTestId('tokens-table').scrollIntoViewIfNeeded();
    await screenshot(page, 'tokens-360-dark-table');
    await page.getByTestId('ops-tab-backups').click();
    await page.getByTestId('backup-config').waitFor();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
      360,
    );
    await screenshot(page, 'backups-360-dark');
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('loads the next page of tokens and of the audit log', async () => {
    const admin = issue(server, 'ops@example.com', '--admin');
    // More tokens than one page of the table (50) holds, and with them more audit records.
    for (let index = 0; index < 50; index++) {
      const response = await postAs(admin, '/admin/tokens', {
        principal: `paged-${index}@example.com`,
      });
      expect(response.status).toBe(201);
    }
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const page = await signIn(context, server, admin);
    const problems = watchPageProblems(page);
    await page.goto(`${server.url}/#/ops/tokens`);
    await page.getByTestId('tokens-load-more').waitFor();
    expect(await page.getByTestId('token-row').count()).toBe(50);
    await page.getByTestId('tokens-load-more').click();
    await expect.poll(() => page.getByTestId('token-row').count()).toBeGreaterThan(50);
    await expect.poll(() => page.getByTestId('tokens-load-more').count()).toBe(0);
    const ids = await page.evaluate<string[]>(
      `[...document.querySelectorAll('[data-testid="token-row"]')].map((row) => row.dataset.id)`,
    );
    expect(new Set(ids).size).toBe(ids.length);

    await page.getByTestId('ops-tab-audit').click();
    await page.getByTestId('audit-load-more').waitFor();
    expect(await page.getByTestId('audit-row').count()).toBe(50);
    await page.getByTestId('audit-load-more').click();
    await expect.poll(() => page.getByTestId('audit-row').count()).toBeGreaterThan(50);
    const seqs = await page.evaluate<number[]>(
      `[...document.querySelectorAll('[data-testid="audit-row"]')].map((row) => Number(row.dataset.seq))`,
    );
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('sends the user back to sign-in saying why, once the token was revoked or expired', async () => {
    // Revoked through the API by its id (the JWT's jti) while the console is open.
    const revoked = issue(server, 'frank@example.com', '--admin');
    const revokedContext = await browser.newContext();
    const revokedPage = await signIn(revokedContext, server, revoked);
    await revokedPage.getByTestId('nav-ops').waitFor();
    const { jti } = JSON.parse(
      Buffer.from(revoked.split('.')[1] ?? '', 'base64url').toString('utf8'),
    ) as { jti: string };
    const revoke = await fetch(`${server.url}/admin/tokens/${jti}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${issue(server, 'ops@example.com', '--admin')}` },
    });
    expect(revoke.status).toBe(200);
    await revokedPage.getByTestId('nav-ops').click();
    await expect
      .poll(() => revokedPage.getByTestId('sign-in-error').textContent())
      .toBe('Your session has ended: the token was revoked. Sign in with a new token.');
    await revokedContext.close();

    // Two 5-second tokens, each in its own browser context (its own cookie jar): one page
    // navigates after the expiry, the other reloads.
    const navigatingContext = await browser.newContext();
    const navigating = await signIn(
      navigatingContext,
      server,
      issue(server, 'erin@example.com', '--admin', '--ttl', '5s'),
    );
    await navigating.getByTestId('nav-ops').waitFor();
    const reloadingContext = await browser.newContext();
    const lastToken = issue(server, 'erin@example.com', '--ttl', '5s');
    const lastIssued = Date.now();
    const reloading = await signIn(reloadingContext, server, lastToken);
    // Past both lifetimes: the browser has dropped the cookies, the server sees none.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, lastIssued + 6500 - Date.now())),
    );
    const expired = 'Your session has ended: the token expired. Sign in again.';
    await navigating.getByTestId('nav-ops').click();
    await expect.poll(() => navigating.getByTestId('sign-in-error').textContent()).toBe(expired);
    await screenshot(navigating, 'session-expired');
    await reloading.reload();
    await expect.poll(() => reloading.getByTestId('sign-in-error').textContent()).toBe(expired);
    await navigatingContext.close();
    await reloadingContext.close();
  }, 60_000);
});
