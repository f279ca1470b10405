import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';

const credentials = new Map<string, TokenCredential>();

/** One DefaultAzureCredential per managed-identity client id (a user-assigned identity in Azure). */
export function azureCredential(clientId?: string): TokenCredential {
  const key = clientId ?? '';
  let credential = credentials.get(key);
  if (!credential) {
    credential = new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {});
    credentials.set(key, credential);
  }
  return credential;
}
