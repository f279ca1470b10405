import { buffer } from 'node:stream/consumers';
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { azureErrorCode } from '../platform/describe-error';
import { SpanKind, withSpan } from '../platform/tracing';

export const CONTAINERS = {
  payloads: 'payloads',
  results: 'results',
  uploads: 'uploads',
  checkpoints: 'checkpoints',
} as const;

/**
 * Storage's codes for a 404 on a blob: the blob, its container, or (the common code) the resource is not there
 * (https://learn.microsoft.com/en-us/rest/api/storageservices/blob-service-error-codes,
 * https://learn.microsoft.com/en-us/rest/api/storageservices/common-rest-api-error-codes).
 */
const NOT_FOUND_CODES = new Set(['BlobNotFound', 'ContainerNotFound', 'ResourceNotFound']);

/** Whether Storage answered that the blob (or its container) does not exist. */
export function isBlobNotFound(err: unknown): boolean {
  return (
    (err as { statusCode?: unknown } | undefined)?.statusCode === 404 &&
    NOT_FOUND_CODES.has(azureErrorCode(err) ?? '')
  );
}

/** Task payloads and results as JSON blobs (the claim check). */
export class BlobStore {
  private ensured: Promise<void> | undefined;
  /** The app's containers' clients, built once: building one costs about a tenth of a blob call's CPU. */
  private readonly containers: Map<string, ContainerClient>;

  constructor(private readonly service: BlobServiceClient) {
    this.containers = new Map(Object.values(CONTAINERS).map((c) => [c, service.getContainerClient(c)]));
  }

  /** Creates the containers once per process. */
  ensureContainers(): Promise<void> {
    this.ensured ??= Promise.all(
      Object.values(CONTAINERS).map((c) => this.container(c).createIfNotExists()),
    ).then(
      () => undefined,
      (err: unknown) => {
        this.ensured = undefined;
        throw err;
      },
    );
    return this.ensured;
  }

  /** Writes a JSON blob; returns its reference (`container/name`). Unless `overwrite`, the blob must not exist yet. */
  async putJson(
    container: string,
    name: string,
    bytes: Uint8Array,
    overwrite = false,
    abortSignal?: AbortSignal,
  ): Promise<string> {
    await this.ensureContainers();
    const ref = `${container}/${name}`;
    await traced('put', ref, () =>
      this.blob(ref).uploadData(bytes, {
        abortSignal,
        blobHTTPHeaders: { blobContentType: 'application/json' },
        conditions: overwrite ? undefined : { ifNoneMatch: '*' },
      }),
    );
    return ref;
  }

  async getJson(ref: string): Promise<unknown> {
    // One GET: downloadToBuffer() asks for the blob's properties first (a HEAD), a second round trip to Storage.
    const bytes = await traced('get', ref, async () => buffer((await this.download(ref)).stream));
    return JSON.parse(bytes.toString('utf8'));
  }

  /** The blob's content as a stream, for responses that should not hold it in memory. */
  openStream(ref: string): Promise<{ stream: NodeJS.ReadableStream; length?: number }> {
    return traced('open', ref, () => this.download(ref));
  }

  private async download(ref: string): Promise<{ stream: NodeJS.ReadableStream; length?: number }> {
    const response = await this.blob(ref).download();
    if (!response.readableStreamBody) throw new Error(`blob ${ref} has no body`);
    return { stream: response.readableStreamBody, length: response.contentLength };
  }

  /** Size and ETag, for reading a blob in ranges and noticing when it changed between two reads. */
  async properties(ref: string): Promise<{ size: number; etag: string }> {
    const properties = await this.blob(ref).getProperties();
    return { size: properties.contentLength ?? 0, etag: properties.etag ?? '' };
  }

  /**
   * The blob from `offset` to its end (or `count` bytes) as a stream of Buffers. With `ifMatch`, fails with status
   * 412 once the blob is no longer that version.
   */
  async openRange(
    ref: string,
    offset: number,
    options: { count?: number; ifMatch?: string; signal?: AbortSignal } = {},
  ): Promise<NodeJS.ReadableStream> {
    const response = await this.blob(ref).download(offset, options.count, {
      conditions: options.ifMatch ? { ifMatch: options.ifMatch } : undefined,
      abortSignal: options.signal,
      // A response broken off mid-way is resumed by the SDK where it stopped, this many times.
      maxRetryRequests: 5,
    });
    if (!response.readableStreamBody) throw new Error(`blob ${ref} has no body`);
    return response.readableStreamBody;
  }

  async delete(ref: string): Promise<void> {
    await traced('delete', ref, () => this.blob(ref).deleteIfExists());
  }

  /** Deletes every blob of `container` whose name starts with `prefix`. */
  async deletePrefix(container: string, prefix: string): Promise<void> {
    const client = this.container(container);
    if (!(await client.exists())) return;
    for await (const blob of client.listBlobsFlat({ prefix })) {
      await client.getBlockBlobClient(blob.name).deleteIfExists();
    }
  }

  /** A cheap round trip for readiness. */
  async ping(): Promise<void> {
    await this.service.getProperties();
  }

  private blob(ref: string) {
    const slash = ref.indexOf('/');
    return this.container(ref.slice(0, slash)).getBlockBlobClient(ref.slice(slash + 1));
  }

  private container(name: string): ContainerClient {
    return this.containers.get(name) ?? this.service.getContainerClient(name);
  }
}

/** A client span per Blob call, named by operation; the reference is ids only (container and task), never content. */
function traced<T>(operation: string, ref: string, call: () => Promise<T>): Promise<T> {
  return withSpan(`blob.${operation}`, { 'az.namespace': 'Microsoft.Storage', 'blob.ref': ref }, call, {
    kind: SpanKind.CLIENT,
  });
}
