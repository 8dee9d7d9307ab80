import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import type { Dispatcher } from 'undici';
import * as z from '../../util/zod.js';
import { formatBytes } from '../../util/format-bytes.js';
import { ggufMagic } from './gguf-format.js';
import { diskError, ModelDownloadError } from './model-download-errors.js';
import {
  contentLength,
  discard,
  headerValue,
  parseContentRange,
  type Connection,
} from './model-download-http.js';
import type { Progress } from './model-download-progress.js';
import type { Source } from './model-download-source.js';

/** What `<name>.part.json` holds: where the part came from and how to ask whether it changed. */
const sidecarSchema = z.object({
  url: z.string(),
  etag: z.string().optional(),
  lastModified: z.string().optional(),
  totalBytes: z.number().int().nonnegative().optional(),
});
type Sidecar = z.infer<typeof sidecarSchema>;

/** The final file, its `.part`, and the `.part.json` sidecar beside it. */
export interface Paths {
  final: string;
  part: string;
  sidecar: string;
}

/** The finished part: its size, what an earlier run contributed, and the hash of all of it. */
export interface Fetched {
  bytes: number;
  resumedBytes: number;
  hash: Hash;
}

/** A `.part` this code can resume: its sidecar names the same URL and its bytes hashed so far. */
interface Resumable {
  bytes: number;
  hash: Hash;
  sidecar: Sidecar;
}

/**
 * Fills `paths.part`: resumes the part an earlier run left (Range + If-Range with the validator in
 * the sidecar) or starts over when the server's file no longer fits it, and checks the status.
 */
export async function fetchPart(
  connection: Connection,
  paths: Paths,
  progress: Progress,
  signal: AbortSignal | undefined,
): Promise<Fetched> {
  const label = connection.source.label;
  let resumable = await readResumable(paths, connection.source);
  for (let attempt = 0; ; attempt += 1) {
    const headers: Record<string, string> = {
      'accept-encoding': 'identity',
      'user-agent': 'assistd',
    };
    if (resumable !== undefined) {
      headers.range = `bytes=${resumable.bytes}-`;
      // A weak ETag may not be used in If-Range (RFC 9110 §13.1.5).
      const { etag, lastModified } = resumable.sidecar;
      const validator = etag !== undefined && !etag.startsWith('W/') ? etag : lastModified;
      if (validator !== undefined) headers['if-range'] = validator;
    }
    const response = await connection.get(headers, signal);
    const range = parseContentRange(headerValue(response.headers, 'content-range'));
    // Without a validator the size is the only sign that the file changed.
    const known = resumable?.sidecar.totalBytes;
    const sameSize = range?.total === undefined || known === undefined || range.total === known;
    if (response.statusCode === 416 && resumable !== undefined) {
      await discard(response.body);
      // Nothing left to send: the part is complete, unless the server's file is another size.
      if (range?.total === undefined || range.total === resumable.bytes) {
        progress.line(`${label} is already in ${paths.part}; checking it`);
        return { bytes: resumable.bytes, resumedBytes: resumable.bytes, hash: resumable.hash };
      }
    } else if (
      response.statusCode === 206 &&
      resumable !== undefined &&
      range?.start === resumable.bytes &&
      sameSize
    ) {
      const total = range.total ?? known;
      progress.line(`resuming ${label} at ${formatBytes(resumable.bytes)}`);
      const state = { ...resumable, head: ggufMagic, resumedBytes: resumable.bytes };
      await receive(response, paths.part, true, state, total, progress, connection);
      return state;
    } else if (response.statusCode === 200 || (response.statusCode === 206 && range?.start === 0)) {
      if (resumable !== undefined) progress.line(`the server sent the whole file; starting over`);
      const total = response.statusCode === 206 ? range?.total : contentLength(response.headers);
      const sidecar: Sidecar = {
        url: connection.source.url.href,
        etag: headerValue(response.headers, 'etag'),
        lastModified: headerValue(response.headers, 'last-modified'),
        totalBytes: total,
      };
      progress.line(`downloading ${label} to ${paths.final}`);
      const state = {
        bytes: 0,
        resumedBytes: 0,
        hash: createHash('sha256'),
        head: Buffer.alloc(0),
      };
      await receive(response, paths.part, false, state, total, progress, connection, () =>
        writeFile(paths.sidecar, `${JSON.stringify(sidecar)}\n`),
      );
      return state;
    } else if (response.statusCode < 200 || response.statusCode >= 300 || attempt > 0) {
      await discard(response.body);
      const status = response.statusCode;
      const hint = status === 401 || status === 403 ? ' (it may need a token)' : '';
      const problem =
        status === 206
          ? 'the server sent a part that was not asked for'
          : `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd();
      throw new ModelDownloadError('http', `cannot download ${label}: ${problem}${hint}`, status);
    } else {
      await discard(response.body);
    }
    // The server's file does not fit the part (416 with another size, an unasked-for range).
    await removePart(paths);
    resumable = undefined;
  }
}

/**
 * Streams a response body into the part file, hashing as it goes. A fresh download truncates the
 * part before `started` writes the sidecar, so a part never sits beside another file's validator.
 */
async function receive(
  response: Dispatcher.ResponseData,
  part: string,
  append: boolean,
  state: Fetched & { head: Buffer },
  total: number | undefined,
  progress: Progress,
  connection: Connection,
  started?: () => Promise<void>,
): Promise<void> {
  let handle;
  try {
    handle = await open(part, append ? 'a' : 'w');
    await started?.();
  } catch (error) {
    await discard(response.body);
    await handle?.close();
    throw diskError(error, part);
  }
  progress.begin(state.bytes, total);
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      if (state.head.length < ggufMagic.length) {
        state.head = Buffer.concat([state.head, chunk]).subarray(0, ggufMagic.length);
        if (state.head.length === ggufMagic.length && !state.head.equals(ggufMagic)) {
          throw new ModelDownloadError(
            'not-a-model',
            `${connection.source.label} is not a GGUF file (it starts with 0x${state.head.toString('hex')}, not "GGUF")`,
          );
        }
      }
      for (let offset = 0; offset < chunk.length;) {
        const { bytesWritten } = await handle.write(chunk, offset).catch((error: unknown) => {
          throw diskError(error, part);
        });
        offset += bytesWritten;
      }
      state.hash.update(chunk);
      state.bytes += chunk.length;
      progress.update(state.bytes);
    }
    await handle.sync().catch((error: unknown) => {
      throw diskError(error, part);
    });
  } catch (error) {
    throw connection.failure(error);
  } finally {
    await handle.close();
  }
  progress.finish(state.bytes);
  if (total !== undefined && state.bytes !== total) {
    throw new ModelDownloadError(
      'network',
      `cannot download ${connection.source.label}: the connection ended after ${state.bytes} of ${total} bytes`,
    );
  }
}

/** The part left by an earlier run, when its sidecar is readable and names the same URL. */
async function readResumable(paths: Paths, source: Source): Promise<Resumable | undefined> {
  const bytes = await stat(paths.part).then(
    (info) => (info.isFile() ? info.size : 0),
    () => 0,
  );
  if (bytes === 0) return undefined;
  const sidecar = await readFile(paths.sidecar, 'utf8')
    .then((text) => sidecarSchema.parse(JSON.parse(text)))
    .catch(() => undefined);
  if (sidecar?.url !== source.url.href) return undefined;
  if (sidecar.totalBytes !== undefined && bytes > sidecar.totalBytes) return undefined;
  const hash = createHash('sha256');
  let head: Buffer | undefined;
  for await (const chunk of createReadStream(paths.part, {
    end: bytes - 1,
  }) as AsyncIterable<Buffer>) {
    head ??= chunk.subarray(0, ggufMagic.length);
    hash.update(chunk);
  }
  return head?.equals(ggufMagic) === true ? { bytes, hash, sidecar } : undefined;
}

/** Deletes the part and its sidecar, so the next run starts over. */
export async function removePart(paths: Paths): Promise<void> {
  await rm(paths.part, { force: true });
  await rm(paths.sidecar, { force: true });
}
