import { fail, pass, warn, type Check } from './check.js';

/** The oldest Node release assistd runs on: package.json's `engines.node`. */
export const minimumNodeVersion = '20.18.1';

/**
 * Node version: below the `engines` floor fails (the server may not start, or misbehave: 20.18.1
 * is the first 20.x with the `fetch`/undici fixes the project relies on); an odd major warns, as
 * odd releases never become LTS and lose support after about six months.
 */
export function nodeVersionCheck(version: string = process.versions.node): Check {
  return {
    id: 'node-version',
    title: 'Node.js version',
    run: async () => {
      const current = parseVersion(version);
      const floor = parseVersion(minimumNodeVersion);
      if (current === undefined) return warn(`cannot read the Node version "${version}"`);
      if (compareVersions(current, floor!) < 0) {
        return fail(
          `Node ${version} is older than ${minimumNodeVersion}; install Node 20 LTS or newer`,
        );
      }
      if (current[0] % 2 === 1) {
        return warn(`Node ${version}: odd-numbered releases are never LTS; prefer an even one`);
      }
      return pass(`Node ${version}`);
    },
  };
}

type Version = [number, number, number];

function parseVersion(text: string): Version | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

function compareVersions(a: Version, b: Version): number {
  for (let index = 0; index < 3; index++) {
    const difference = a[index]! - b[index]!;
    if (difference !== 0) return difference;
  }
  return 0;
}
