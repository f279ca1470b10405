// Key Vault in RBAC mode with the app's secrets. The app reads them at start through `@kv:<name>` settings; no secret
// is ever an app setting or an output.
import { deployerAccess, privateEndpointFor, roleAssignmentsFor, roles } from 'types.bicep'

param name string
param location string
param tags object
@secure()
param webhookSigningSecret string
@secure()
param streamTokenSecret string
@secure()
param apiKeyPepper string
param identityPrincipalId string
param deployer deployerAccess
param privateEndpointSubnetId string
param privateDnsZoneIds object

var vnetEnabled = !empty(privateEndpointSubnetId)

module vault 'br/public:avm/res/key-vault/vault:0.13.3' = {
  name: 'vault'
  params: {
    name: name
    location: location
    tags: tags
    sku: 'standard'
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    enablePurgeProtection: false
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    networkAcls: {
      defaultAction: vnetEnabled ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
    secrets: [
      {
        name: 'webhook-signing-secret'
        value: webhookSigningSecret
      }
      {
        name: 'stream-token-secret'
        value: streamTokenSecret
      }
      {
        name: 'api-key-pepper'
        value: apiKeyPepper
      }
    ]
    // The deployer's read access also lets azd reuse the stored secrets on the next provision.
    roleAssignments: roleAssignmentsFor([roles.keyVaultSecretsUser], identityPrincipalId, [roles.keyVaultSecretsUser], deployer)
    privateEndpoints: vnetEnabled ? [privateEndpointFor('vault', privateEndpointSubnetId, privateDnsZoneIds.vault)] : []
  }
}

output name string = vault.outputs.name
output uri string = vault.outputs.uri
