import { TableClient } from '@azure/data-tables';
import { ServiceBusClient } from '@azure/service-bus';
import { BlobServiceClient } from '@azure/storage-blob';
import { azureCredential } from './azure-credential';
import type { ServiceBusSettings, StorageSettings } from './settings';

/** Clients follow the Functions convention: a connection string locally, managed identity in Azure. */
export function createBlobServiceClient(storage: StorageSettings): BlobServiceClient {
  return storage.kind === 'connectionString'
    ? BlobServiceClient.fromConnectionString(storage.connectionString)
    : new BlobServiceClient(storage.blobServiceUri, azureCredential(storage.clientId));
}

export function createTableClient(storage: StorageSettings, table: string): TableClient {
  return storage.kind === 'connectionString'
    ? TableClient.fromConnectionString(storage.connectionString, table, {
        allowInsecureConnection: /^DefaultEndpointsProtocol=http;|UseDevelopmentStorage=true/i.test(
          storage.connectionString,
        ),
      })
    : new TableClient(storage.tableServiceUri, table, azureCredential(storage.clientId));
}

export function createServiceBusClient(serviceBus: ServiceBusSettings): ServiceBusClient {
  return serviceBus.kind === 'connectionString'
    ? new ServiceBusClient(serviceBus.connectionString)
    : new ServiceBusClient(serviceBus.fullyQualifiedNamespace, azureCredential(serviceBus.clientId));
}
