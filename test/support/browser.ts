import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from './process.js';

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it when missing). */
export const chromiumPath = '/usr/bin/chromium';

/** Where the browser tests leave their screenshots (kept by CI as artifacts). */
export const screenshotDir = join(repoRoot, 'test-results', 'console');

/** Headless Chromium with the flags this machine needs (no sandbox as root, no GPU). */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Saves a full-page screenshot as `test-results/console/<name>.png` and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Collects what the page reports as broken: uncaught errors, console errors and CSP
 * violations, so a test can assert there were none.
 */
export function watchPageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // By design, and logged by Chromium as failed resources: GET /console/session answers 401
    // with no session, and the probes that decide whether to show the operations pages answer
    // 403 to principals the policies do not allow.
    const url = message.location().url;
    const expected =
      message.text().startsWith('Failed to load resource') &&
      (url.endsWith('/console/session') ||
        (message.text().includes('status of 403') && new URL(url).pathname.startsWith('/admin/')));
    if (!expected) problems.push(`console: ${message.text()}`);
  });
  return problems;
}

/** The `data-testid` of the focused element. */
export function focusedTestId(page: Page): Promise<string | undefined> {
  return page.evaluate<string | undefined>('document.activeElement?.dataset.testid');
}
