import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  assertObjectKey,
  assertObjectPrefix,
  isObjectKey,
  type ObjectInfo,
  type ObjectStore,
} from './types.js';

// The SDK warns on Node.js 20 (its releases after January 2027 need 22) with nine lines on
// stderr: in every CLI command's output and among the server's JSON log lines. The version in
// package-lock.json runs on 20; README "Backups" says so. `=false` brings the warning back.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Keys are stored under this prefix (`assistd/` say); empty for the bucket's root. */
  prefix: string;
  /** An S3-compatible endpoint (MinIO, Ceph, s3rver); omitted for AWS. */
  endpoint?: string | undefined;
  region: string;
  /** Omitted: the SDK's own chain (environment, shared files, instance or pod roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** Keys per listing request (S3's maximum is 1000). */
  pageSize?: number;
}

/**
 * Objects in an S3-compatible bucket, path-style (works with MinIO, Ceph and s3rver as with AWS).
 * Checksums are computed and checked only where the API requires them: newer SDKs add CRC
 * checksums that many S3-compatible servers reject. A put resolves once S3 acknowledged it.
 */
export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly prefix: string;

  constructor(private readonly options: S3ObjectStoreOptions) {
    this.prefix =
      options.prefix === '' || options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
    this.location = `s3://${options.bucket}/${this.prefix}${options.endpoint ? ` at ${options.endpoint}` : ''}`;
    this.client = new S3Client({
      region: options.region,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.options.bucket, Key: this.key(key), Body: data }),
    );
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.key(key) }),
      );
      return response.Body ? await response.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const response = await this.client.send(
        new HeadObjectCommand({ Bucket: this.options.bucket, Key: this.key(key) }),
      );
      return { key, size: response.ContentLength ?? 0 };
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertObjectPrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.options.bucket,
          Prefix: this.prefix + prefix,
          MaxKeys: this.options.pageSize ?? 1000,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined) continue;
        const key = item.Key.slice(this.prefix.length);
        // Not one of ours, and not addressable here: an S3 console's folder marker (`locks/`).
        if (!isObjectKey(key)) continue;
        yield { key, size: item.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.key(key) }),
    );
  }

  close(): void {
    this.client.destroy();
  }

  private key(key: string): string {
    assertObjectKey(key);
    return this.prefix + key;
  }
}

function notFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return (
    error.name === 'NoSuchKey' ||
    error.name === 'NotFound' ||
    error.$metadata.httpStatusCode === 404
  );
}
