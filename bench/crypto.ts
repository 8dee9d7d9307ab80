// Encryption at rest on the hot path: what sealing and opening a message costs through
// src/security/crypto, beside a plain node:crypto AES-256-GCM round trip on the same bytes (a fresh
// randomBytes(12) IV, Buffer.concat of the parts): what a hand-written call would cost.
// Rounds interleave the scenarios, so a noisy neighbour slows all of them alike; each figure is
// the median over rounds. Run: npx tsx bench/crypto.ts  (BENCH_ITERATIONS, BENCH_ROUNDS)
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MemoryDataKeyStore,
  openCrypto,
  type EnvelopeCrypto,
} from '../src/security/crypto/index.js';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 10_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
const quiet = { info() {}, warn() {}, error() {} };

type Work = (index: number) => void;

/** Microseconds per call of `work`, over `iterations` calls. */
function time(work: Work): number {
  const start = process.hrtime.bigint();
  for (let index = 0; index < iterations; index++) work(index);
  return Number(process.hrtime.bigint() - start) / 1_000 / iterations;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The scenarios for one message size. */
function scenarios(crypto: EnvelopeCrypto, size: number): Record<string, Work> {
  const message = randomBytes(size);
  const context = (index: number) => `messages:msg_${index % 1000}`;
  const blobs = Array.from({ length: 1000 }, (_, index) => crypto.encrypt(message, context(index)));

  const key = randomBytes(32);
  const iv = randomBytes(12);
  const aad = Buffer.from('messages:msg_000');
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  cipher.setAAD(aad);
  const sealed = Buffer.concat([cipher.update(message), cipher.final()]);
  const tag = cipher.getAuthTag();

  return {
    encrypt: (index) => crypto.encrypt(message, context(index)),
    decrypt: (index) => crypto.decrypt(blobs[index % 1000]!, context(index)),
    both: (index) => {
      const blob = crypto.encrypt(message, context(index));
      crypto.decrypt(blob, context(index));
    },
    bare: () => {
      const encryptor = createCipheriv('aes-256-gcm', key, randomBytes(12), { authTagLength: 16 });
      encryptor.setAAD(aad);
      Buffer.concat([encryptor.update(message), encryptor.final()]);
      encryptor.getAuthTag();
      const decryptor = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
      decryptor.setAAD(aad);
      decryptor.setAuthTag(tag);
      Buffer.concat([decryptor.update(sealed), decryptor.final()]);
    },
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'assistd-bench-crypto-'));
  const keyFile = join(dir, 'master.key');
  await writeFile(keyFile, `v1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  const crypto = await openCrypto({
    masterKeyFile: keyFile,
    dataDir: dir,
    store: new MemoryDataKeyStore(),
    logger: quiet,
  });

  const header = ['message', 'encrypt µs', 'decrypt µs', 'enc+dec µs', 'MB/s', 'bare µs', 'ratio'];
  const rows: string[][] = [];
  let headline = '';
  for (const size of [1024, 64, 16 * 1024]) {
    const work = scenarios(crypto, size);
    const names = Object.keys(work);
    const samples: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
    const ratios: number[] = [];
    for (const name of names) for (let index = 0; index < 2_000; index++) work[name]!(index);
    for (let round = 0; round < rounds; round++) {
      for (const name of names) samples[name]!.push(time(work[name]!));
      ratios.push(samples.both!.at(-1)! / samples.bare!.at(-1)!);
    }
    const [encrypt, decrypt, both, bare] = names.map((name) => median(samples[name]!)) as [
      number,
      number,
      number,
      number,
    ];
    const ratio = median(ratios);
    const megabytesPerSecond = (size / both).toFixed(0); // bytes per µs = MB/s
    rows.push([
      `${size} B`,
      encrypt.toFixed(2),
      decrypt.toFixed(2),
      both.toFixed(2),
      megabytesPerSecond,
      bare.toFixed(2),
      ratio.toFixed(2),
    ]);
    if (size === 1024) {
      headline =
        `1 KiB message: encrypt ${encrypt.toFixed(2)} µs + decrypt ${decrypt.toFixed(2)} µs; ` +
        `encrypt+decrypt ${both.toFixed(2)} µs per op = ${megabytesPerSecond} MB/s, ` +
        `${Math.round(1e6 / both).toLocaleString('en')} round trips/s on one core, ` +
        `${ratio.toFixed(2)}× bare node:crypto`;
    }
  }
  await crypto.close();
  await rm(dir, { recursive: true, force: true });

  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) => cells.map((cell, i) => cell.padStart(widths[i]!)).join('  ');
  console.log(
    `AES-256-GCM envelope encryption (node ${process.version}): median of ${rounds} interleaved ` +
      `rounds × ${iterations} ops`,
  );
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log(`\n${headline}`);
  console.log(
    'MB/s: plaintext bytes through one encrypt and one decrypt per second. bare: createCipheriv + ' +
      'createDecipheriv written plainly (randomBytes(12) IV, Buffer.concat), no envelope. ' +
      'ratio: enc+dec / bare, median per round (below 1: the envelope pools IV bytes and writes ' +
      'into one buffer).',
  );
}

await main();
