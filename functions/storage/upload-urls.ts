import {
  BlobSASPermissions,
  generateBlobSASQueryParameters,
  SASProtocol,
  type BlobServiceClient,
  type UserDelegationKey,
} from '@azure/storage-blob';
import { CONTAINERS } from './blob-store';

/** A user delegation key is good for up to 7 days; one is fetched per hour and reused for every URL meanwhile. */
const DELEGATION_KEY_MS = 60 * 60 * 1000;

/**
 * Short-lived, write-only SAS URLs for single blobs in `uploads`, so clients PUT files straight to Blob storage and
 * never through the Functions host. Under managed identity the SAS is a user delegation SAS (no account key exists);
 * with a connection string (Azurite, local development) it is signed with the account key.
 */
export class UploadUrls {
  private delegationKey: { key: Promise<UserDelegationKey>; until: number } | undefined;

  constructor(
    private readonly service: BlobServiceClient,
    private readonly identity: boolean,
  ) {}

  async writeUrl(blobName: string, expiresOn: Date): Promise<string> {
    const blob = this.service.getContainerClient(CONTAINERS.uploads).getBlockBlobClient(blobName);
    // Create and write only: the holder can neither read, list, nor delete.
    const permissions = BlobSASPermissions.parse('cw');
    // A few minutes back, for clocks that run behind.
    const startsOn = new Date(Date.now() - 5 * 60 * 1000);
    if (!this.identity) return blob.generateSasUrl({ permissions, startsOn, expiresOn });
    const sas = generateBlobSASQueryParameters(
      {
        containerName: CONTAINERS.uploads,
        blobName,
        permissions,
        startsOn,
        expiresOn,
        protocol: SASProtocol.Https,
      },
      await this.userDelegationKey(expiresOn),
      this.service.accountName,
    );
    return `${blob.url}?${sas.toString()}`;
  }

  private userDelegationKey(expiresOn: Date): Promise<UserDelegationKey> {
    const now = Date.now();
    if (!this.delegationKey || this.delegationKey.until < expiresOn.getTime()) {
      const until = now + DELEGATION_KEY_MS + (expiresOn.getTime() - now);
      const key = this.service.getUserDelegationKey(new Date(now - 5 * 60 * 1000), new Date(until));
      this.delegationKey = { key, until };
      key.catch(() => (this.delegationKey = undefined));
    }
    return this.delegationKey.key;
  }
}
