// Key Vault in RBAC mode with the app's secrets. The app reads them at start through `@kv:<name>` settings; no secret
// is ever an app setting or an output.
//
// The secrets are made here, on the first provision only: each gets a random value (two GUIDs, 244 random bits) and
// `@onlyIfNotExists()` skips it once it exists, so later provisions keep the stored values (API keys stay valid) and
// nobody needs to read the vault to deploy. Resource Manager creates them (control plane); the deployer needs no
// data-plane access, so a vault behind a VNet or a CI principal cannot fail the provision (azd's
// secretOrRandomPassword, used before, did: it read the vault and failed on anything but 404).
import { deployerAccess, privateEndpointFor, roleAssignmentsFor, roles } from 'types.bicep'

param name string
param location string
param tags object
param identityPrincipalId string
param deployer deployerAccess
param privateEndpointSubnetId string
param privateDnsZoneIds object

// newGuid() is allowed only as a parameter default. Used only when the secret does not exist yet.
@secure()
param webhookSigningSecret string = '${newGuid()}${newGuid()}'
@secure()
param streamTokenSecret string = '${newGuid()}${newGuid()}'
@secure()
param apiKeyPepper string = '${newGuid()}${newGuid()}'

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
    // The deployer's read access is for running the app or `npm run keys` against the cloud resources.
    roleAssignments: roleAssignmentsFor([roles.keyVaultSecretsUser], identityPrincipalId, [roles.keyVaultSecretsUser], deployer)
    privateEndpoints: vnetEnabled ? [privateEndpointFor('vault', privateEndpointSubnetId, privateDnsZoneIds.vault)] : []
  }
}

resource vaultRef 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: name
}

// Not the module's `secrets`: it writes them on every provision, which would replace the values.
@onlyIfNotExists()
resource secrets 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = [
  for secret in [
    { name: 'webhook-signing-secret', value: webhookSigningSecret }
    { name: 'stream-token-secret', value: streamTokenSecret }
    { name: 'api-key-pepper', value: apiKeyPepper }
  ]: {
    parent: vaultRef
    name: secret.name
    properties: {
      value: secret.value
    }
    dependsOn: [vault]
  }
]

output name string = vault.outputs.name
output uri string = vault.outputs.uri
