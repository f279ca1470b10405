import { randomUUID } from 'node:crypto';
import { CONTAINERS, type BlobStore } from '../storage/blob-store';
import type { UploadUrls } from '../storage/upload-urls';

export interface UploadRequest {
  filename: string;
  contentType: string;
  size: number;
}

export interface Upload {
  blob: string;
  uploadUrl: string;
  method: 'PUT';
  headers: Record<string, string>;
  expiresAt: string;
  maxBytes: number;
}

/** How long an upload URL works: long enough to start a large upload, short enough to be useless if it leaks. */
const UPLOAD_URL_SECONDS = 15 * 60;

/**
 * Claim-check uploads: a client asks for a place, gets a write-only URL for one new blob, and PUTs the file there
 * itself. The blob name starts with a fresh UUID, so names cannot be guessed or collide.
 */
export class UploadService {
  constructor(private readonly deps: { blobs: BlobStore; urls: UploadUrls; maxBytes: number }) {}

  async create(request: UploadRequest): Promise<Upload> {
    await this.deps.blobs.ensureContainers();
    const name = `${randomUUID()}/${safeFileName(request.filename)}`;
    const expiresOn = new Date(Date.now() + UPLOAD_URL_SECONDS * 1000);
    return {
      blob: `${CONTAINERS.uploads}/${name}`,
      uploadUrl: await this.deps.urls.writeUrl(name, expiresOn),
      method: 'PUT',
      headers: { 'x-ms-blob-type': 'BlockBlob', 'content-type': request.contentType },
      expiresAt: expiresOn.toISOString(),
      maxBytes: this.deps.maxBytes,
    };
  }
}

/** Letters, digits, dot, dash and underscore; anything else becomes `_` (blob names travel in URLs and logs). */
function safeFileName(filename: string): string {
  return filename.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
}
