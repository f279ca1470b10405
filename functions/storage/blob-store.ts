import type { BlobServiceClient } from '@azure/storage-blob';

export const CONTAINERS = {
  payloads: 'payloads',
  results: 'results',
  uploads: 'uploads',
  checkpoints: 'checkpoints',
} as const;

/** Task payloads and results as JSON blobs (the claim check). */
export class BlobStore {
  private ensured: Promise<void> | undefined;

  constructor(private readonly service: BlobServiceClient) {}

  /** Creates the containers once per process. */
  ensureContainers(): Promise<void> {
    this.ensured ??= Promise.all(
      Object.values(CONTAINERS).map((c) => this.service.getContainerClient(c).createIfNotExists()),
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
  async putJson(container: string, name: string, bytes: Uint8Array, overwrite = false): Promise<string> {
    await this.ensureContainers();
    await this.service
      .getContainerClient(container)
      .getBlockBlobClient(name)
      .uploadData(bytes, {
        blobHTTPHeaders: { blobContentType: 'application/json' },
        conditions: overwrite ? undefined : { ifNoneMatch: '*' },
      });
    return `${container}/${name}`;
  }

  async getJson(ref: string): Promise<unknown> {
    const bytes = await this.blob(ref).downloadToBuffer();
    return JSON.parse(bytes.toString('utf8'));
  }

  /** The blob's content as a stream, for responses that should not hold it in memory. */
  async openStream(ref: string): Promise<{ stream: NodeJS.ReadableStream; length?: number }> {
    const response = await this.blob(ref).download();
    if (!response.readableStreamBody) throw new Error(`blob ${ref} has no body`);
    return { stream: response.readableStreamBody, length: response.contentLength };
  }

  async delete(ref: string): Promise<void> {
    await this.blob(ref).deleteIfExists();
  }

  /** A cheap round trip for readiness. */
  async ping(): Promise<void> {
    await this.service.getProperties();
  }

  private blob(ref: string) {
    const slash = ref.indexOf('/');
    return this.service.getContainerClient(ref.slice(0, slash)).getBlockBlobClient(ref.slice(slash + 1));
  }
}
