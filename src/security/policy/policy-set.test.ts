import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { seedYaml } from './__fixtures__/policies.js';
import { defaultPolicySource } from './default-policy.js';
import { PolicyFileError } from './document.js';
import type { AccessRequest } from './evaluate.js';
import { PolicySet, type PolicySetEvent } from './policy-set.js';
import { captureLogs } from '../../../test/support/log-capture.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-policy-set-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const open: PolicySet[] = [];
afterEach(() => {
  for (const set of open.splice(0)) set.close();
});

let fileNumber = 0;
function policyFile(text: string): string {
  const path = join(folder, `policies-${++fileNumber}.yaml`);
  writeFileSync(path, text);
  return path;
}

async function load(path: string | undefined, watch = false) {
  const { logger, lines } = captureLogs();
  const set = await PolicySet.load({ path, logger, watch, debounceMs: 20, clock: () => 1_000 });
  open.push(set);
  return { set, lines };
}

/** Resolves with the next event that `accept` takes; a guard rejects if none comes. */
function nextEvent(set: PolicySet, accept: (event: PolicySetEvent) => boolean) {
  return new Promise<PolicySetEvent>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error('no policy event within 10 s')), 10_000);
    const stop = set.onEvent((event) => {
      if (!accept(event)) return;
      clearTimeout(guard);
      stop();
      resolve(event);
    });
  });
}

const devCreatesChat: AccessRequest = {
  principal: { subject: 'dev@example.com', groups: [] },
  action: 'create:chat',
  resource: '/v1/chat',
};
const letDevChat = seedYaml.replace('actions: ["get:*", "list:*"]', 'actions: ["*"]');

describe('PolicySet', () => {
  it('uses the built-in default policies when no file is configured', async () => {
    const { set, lines } = await load(undefined);
    expect(set.current.source).toBe(defaultPolicySource);
    expect(set.evaluate(devCreatesChat).statement?.name).toBe('default-chat');
    expect(lines.map((line) => line.msg)).toEqual([
      'no policy file configured: using the built-in default policies',
    ]);
    expect(await set.reload()).toMatchObject({ type: 'unchanged', source: defaultPolicySource });
  });

  it('refuses to start with an invalid file, naming the line', async () => {
    const path = policyFile(seedYaml.replace('effect: allow', 'effect: permit'));
    await expect(load(path)).rejects.toThrow(PolicyFileError);
    await expect(load(path)).rejects.toThrow(`${path}:3:13: policies[0].effect`);
    await expect(load(join(folder, 'missing.yaml'))).rejects.toThrow(/no such file/);
  });

  it('swaps in a valid file on reload and reports unchanged content as unchanged', async () => {
    const path = policyFile(seedYaml);
    const { set, lines } = await load(path);
    expect(set.evaluate(devCreatesChat).allowed).toBe(false);

    writeFileSync(path, letDevChat);
    expect(await set.reload()).toMatchObject({ type: 'loaded', statements: 2, at: 1_000 });
    expect(set.evaluate(devCreatesChat).allowed).toBe(true);
    expect(lines.at(-1)).toMatchObject({ msg: 'reloaded policies', statements: 2 });

    expect(await set.reload()).toMatchObject({ type: 'unchanged' });
  });

  it('keeps the previous policies when the new file is invalid, and logs the line and reason', async () => {
    const path = policyFile(seedYaml);
    const { set, lines } = await load(path);
    const before = set.current;

    writeFileSync(path, `${letDevChat}  - name: broken\n    effect: allow\n    oops: true\n`);
    const event = await set.reload();
    expect(event.type).toBe('rejected');
    if (event.type !== 'rejected') return;
    expect(event.keptDigest).toBe(before.digest);
    expect(event.error.issues).toContainEqual({
      line: 14,
      column: 5,
      path: 'policies[2].oops',
      message: expect.stringContaining('unknown key "oops"'),
    });
    expect(set.current).toBe(before);
    expect(set.evaluate(devCreatesChat).allowed).toBe(false);
    const logged = lines.at(-1)!;
    expect(logged.level).toBe(50);
    expect(logged.msg).toContain(`${path}:14:5: policies[2].oops: unknown key "oops"`);
    expect(logged.msg).toContain(
      `${path}:12:5: policies[2].actions: missing required key "actions"`,
    );
    expect(logged.msg).toContain('the previous policies stay in force');

    unlinkSync(path);
    expect(await set.reload()).toMatchObject({ type: 'rejected' });
    expect(set.current).toBe(before);
  });

  it('runs overlapping reloads one after another, and the last write wins', async () => {
    const path = policyFile(seedYaml);
    const { set } = await load(path);
    writeFileSync(path, letDevChat);
    const first = set.reload();
    const second = set.reload();
    const third = set.reload();
    expect(second).toBe(third);
    writeFileSync(path, seedYaml);
    // Whatever the first read saw, the follow-up reload runs after it and reads the last write.
    await first;
    expect(await second).toMatchObject({ source: path });
    expect(set.evaluate(devCreatesChat).allowed).toBe(false);
  });

  it('picks up a valid change written in place', async () => {
    const path = policyFile(seedYaml);
    const { set } = await load(path, true);
    const loaded = nextEvent(set, (event) => event.type === 'loaded');
    writeFileSync(path, letDevChat);
    expect(await loaded).toMatchObject({ type: 'loaded', source: path });
    expect(set.evaluate(devCreatesChat).allowed).toBe(true);
  });

  it('picks up a file replaced by rename, as editors save', async () => {
    const path = policyFile(seedYaml);
    const { set } = await load(path, true);
    const loaded = nextEvent(set, (event) => event.type === 'loaded');
    const temporary = join(folder, 'policies.yaml.swp');
    writeFileSync(temporary, letDevChat);
    renameSync(temporary, path);
    await loaded;
    expect(set.evaluate(devCreatesChat).allowed).toBe(true);

    // And keeps watching the new file: an invalid save is rejected, a valid one taken.
    const rejected = nextEvent(set, (event) => event.type === 'rejected');
    writeFileSync(temporary, 'policies: [');
    renameSync(temporary, path);
    await rejected;
    expect(set.evaluate(devCreatesChat).allowed).toBe(true);
    const reverted = nextEvent(set, (event) => event.type === 'loaded');
    writeFileSync(path, seedYaml);
    await reverted;
    expect(set.evaluate(devCreatesChat).allowed).toBe(false);
  });

  it('ignores other files in the directory and stops watching when closed', async () => {
    const path = policyFile(seedYaml);
    const { set } = await load(path, true);
    const events: PolicySetEvent[] = [];
    set.onEvent((event) => events.push(event));
    // Five debounce periods of quiet: a reload triggered by the other file would show as an event.
    const quiet = () => new Promise((resolve) => setTimeout(resolve, 100));
    writeFileSync(join(folder, 'unrelated.txt'), 'x');
    await quiet();
    expect(events).toEqual([]);

    set.close();
    writeFileSync(path, letDevChat);
    await quiet();
    expect(events).toEqual([]);
    // A reload on request (SIGHUP) still works after close.
    expect(await set.reload()).toMatchObject({ type: 'loaded' });
  });
});
