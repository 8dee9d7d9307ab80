import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumPath } from './browser.js';
import { assistdBin, repoRoot, startServerProcess, type Child } from './process.js';

/** A server from dist/ (which serves dist/console) with a data dir of its own. */
export interface ConsoleServer {
  child: Child;
  url: string;
  /** Where `assistd tokens issue` must point to mint tokens this server accepts. */
  dataDir: string;
}

/** The console tests need Debian's Chromium and a built console; say so at once otherwise. */
export function requireConsoleTestSetup(): void {
  if (!existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium (.ci/run does)`);
  }
  if (!existsSync(join(repoRoot, 'dist/console/index.html'))) {
    throw new Error('the console is not built: npm run build');
  }
}

/** `assistd serve --port 0` on a fresh data dir, plus `extra` flags; the caller kills it. */
export async function startConsoleServer(extra: string[] = []): Promise<ConsoleServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'assistd-console-'));
  const { child, url } = await startServerProcess(['--port', '0', '--data-dir', dataDir, ...extra]);
  return { child, url, dataDir };
}

/** A token from the CLI (`assistd tokens issue`), against the server's data dir. */
export function issue(server: ConsoleServer, principal: string, ...flags: string[]): string {
  return execFileSync(
    process.execPath,
    [
      assistdBin,
      'tokens',
      'issue',
      '--principal',
      principal,
      '--data-dir',
      server.dataDir,
      ...flags,
    ],
    { encoding: 'utf8' },
  ).trim();
}

export async function waitReady(server: ConsoleServer): Promise<void> {
  for (let waited = 0; waited < 30_000; waited += 100) {
    if ((await fetch(`${server.url}/ready`)).status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${server.url} never became ready`);
}

/** A new page signed in with `token` by pasting it, as a user would; resolves on the chat. */
export async function signIn(
  context: BrowserContext,
  server: ConsoleServer,
  token: string,
): Promise<Page> {
  const page = await context.newPage();
  await page.goto(server.url);
  await page.getByTestId('token-input').fill(token);
  await page.getByTestId('sign-in').click();
  await page.getByTestId('composer').waitFor();
  return page;
}
