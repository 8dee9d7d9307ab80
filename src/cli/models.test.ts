import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultScript } from '../providers/tiny-model/tiny-model.js';
import type { CliIo } from './io.js';
import { runCli } from './program.js';

const folder = mkdtempSync(join(tmpdir(), 'assistd-cli-models-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function cli(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: {},
    cwd: folder,
  };
  const code = await runCli(['node', 'assistd', 'models', ...args], io);
  return { code, stdout, stderr };
}

describe('assistd models make-tiny', () => {
  it('writes a scripted q8_0 model by default, relative to the working folder', async () => {
    const result = await cli('make-tiny', 'demo.gguf');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(
      new RegExp(
        `^wrote ${join(folder, 'demo.gguf')}: scripted llama model, q8_0, 64 dims × 2 layers, [\\d.]+K parameters, [\\d.]+ KiB in \\d+ ms\\n$`,
      ),
    );
    expect(readFileSync(join(folder, 'demo.gguf')).subarray(0, 4).toString()).toBe('GGUF');
  });

  it('takes the type, mode, seed and shape, and reports JSON', async () => {
    const result = await cli(
      'make-tiny',
      'random.gguf',
      '--mode',
      'random',
      '--type',
      'f16',
      '--seed',
      '9',
      '--dim',
      '96',
      '--layers',
      '3',
      '--json',
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      path: join(folder, 'random.gguf'),
      type: 'f16',
      mode: 'random',
      embeddingLength: 96,
      blockCount: 3,
      scriptPieces: 0,
    });
  });

  it('takes a script', async () => {
    const result = await cli(
      'make-tiny',
      'hello.gguf',
      '--script',
      'Hello there, friend.',
      '--json',
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ scriptPieces: 3 });
  });

  it('refuses bad flags with a message and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['make-tiny', 'x.gguf', '--type', 'q4_0'],
        /argument 'q4_0' is invalid. Allowed choices are f32, f16, q8_0/,
      ],
      [
        ['make-tiny', 'x.gguf', '--seed', '-1'],
        /--seed <n>' argument '-1' is invalid. expected an integer ≥ 0/,
      ],
      [['make-tiny', 'x.gguf', '--dim', '6.5'], /argument '6.5' is invalid/],
      [
        ['make-tiny', 'x.gguf', '--mode', 'random', '--script', 'hey there'],
        /--script needs --mode scripted/,
      ],
      [['make-tiny', 'x.gguf', '--script', 'hi'], /at least 3 characters/],
      [['make-tiny', 'x.gguf', '--dim', '8'], /embeddingLength 8 is too small/],
      [['make-tiny', 'no/such/folder/x.gguf'], /cannot write .*x\.gguf \(ENOENT\)/],
      [['make-tiny'], /missing required argument 'out'/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(...args);
      expect([args, result.code]).toEqual([args, 2]);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe('');
    }
  });
});

describe('assistd models inspect', () => {
  it('describes a model for people', async () => {
    await cli('make-tiny', 'inspect-me.gguf', '--type', 'f32');
    const result = await cli('inspect', 'inspect-me.gguf', '--context-size', '1024');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(join(folder, 'inspect-me.gguf'));
    expect(lines.slice(1).map((line) => line.trim().split(/\s{2,}/))).toEqual([
      ['architecture', 'llama (assistd tiny scripted), GGUF v3'],
      ['parameters', expect.stringMatching(/^[\d.]+K$/)],
      ['tensor types', 'F32 × 21'],
      ['file size', expect.stringMatching(/ KiB$/)],
      ['context length', '4096 tokens'],
      ['vocabulary', expect.stringMatching(/^\d+ tokens$/)],
      ['chat template', 'yes'],
      [
        'memory (est.)',
        expect.stringMatching(
          /^[\d.]+ MiB = [\d.]+ KiB weights \+ 16 sequences × 1024 tokens × 512 bytes\/token KV cache \(F16\)$/,
        ),
      ],
    ]);
  });

  it('prints JSON with --json and labels Q8_0 as INT8', async () => {
    await cli('make-tiny', 'q8.gguf');
    const result = await cli('inspect', join(folder, 'q8.gguf'), '--json', '--max-batch-size', '4');
    const report = JSON.parse(result.stdout);
    expect(report.tensorTypes[0]).toMatchObject({ type: 'Q8_0', label: 'Q8_0 (INT8)' });
    expect(report.memory).toMatchObject({
      maxBatchSize: 4,
      contextSize: 4096,
      kvBytesPerToken: 512,
    });
  });

  it('exits 2 naming the file and the problem', async () => {
    writeFileSync(join(folder, 'text.gguf'), 'hello, not a model');
    const bad = await cli('inspect', 'text.gguf');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      `assistd: model file ${join(folder, 'text.gguf')} is not a GGUF file (it starts with 0x68656c6c, not "GGUF")\n`,
    );
    const missing = await cli('inspect', 'nowhere');
    expect(missing).toMatchObject({
      code: 2,
      stderr: `assistd: model path ${join(folder, 'nowhere')} does not exist\n`,
    });
    const flag = await cli('inspect', 'q8.gguf', '--max-batch-size', '0');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(
      /--max-batch-size <n>' argument '0' is invalid. expected an integer ≥ 1/,
    );
  });
});

describe('assistd models --help', () => {
  it('documents every command', async () => {
    for (const args of [['--help'], ['inspect', '--help'], ['make-tiny', '--help']]) {
      const result = await cli(...args);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^Usage: assistd models/);
    }
    expect((await cli('make-tiny', '--help')).stdout).toContain('--script <text>');
    expect(defaultScript).toContain('--model-path');
  });
});
