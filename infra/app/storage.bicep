// Storage for the host (deployment package, timer locks) and for tasks: Blob containers for payloads, results,
// uploads and oversized checkpoints, and the `checkpoints` table. Shared keys are disabled: identity only.
import { deployerAccess, privateEndpointFor, roleAssignmentsFor, roles } from 'types.bicep'

param name string
param location string
param tags object
param deploymentContainerName string
@description('Browser origins allowed to PUT uploads with a SAS URL: the function app\'s own and those allowed to call the API (main.bicep).')
param corsOrigins array
param payloadRetentionDays int
param identityPrincipalId string
param deployer deployerAccess
param privateEndpointSubnetId string
param privateDnsZoneIds object

// functions/storage/blob-store.ts CONTAINERS, plus the Flex deployment container.
var taskContainers = ['payloads', 'results', 'uploads', 'checkpoints']
var vnetEnabled = !empty(privateEndpointSubnetId)

module account 'br/public:avm/res/storage/storage-account:0.32.0' = {
  name: 'account'
  params: {
    name: name
    location: location
    tags: tags
    kind: 'StorageV2'
    skuName: 'Standard_LRS'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled'
    // With a VNet, only the private endpoints (and trusted Azure services) get in.
    networkAcls: {
      defaultAction: vnetEnabled ? 'Deny' : 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      containers: map(concat([deploymentContainerName], taskContainers), container => {
        name: container
        publicAccess: 'None'
      })
      // Browsers PUT uploads straight to Blob with a short-lived user delegation SAS (POST /api/uploads).
      corsRules: [
        {
          allowedOrigins: corsOrigins
          allowedMethods: ['PUT', 'OPTIONS']
          allowedHeaders: ['content-type', 'x-ms-*']
          exposedHeaders: ['etag', 'x-ms-*']
          maxAgeInSeconds: 3600
        }
      ]
      deleteRetentionPolicyEnabled: true
      deleteRetentionPolicyDays: 7
      containerDeleteRetentionPolicyEnabled: true
      containerDeleteRetentionPolicyDays: 7
    }
    tableServices: {
      tables: [
        {
          name: 'checkpoints'
        }
      ]
    }
    managementPolicyRules: [
      {
        name: 'delete-old-payloads-and-uploads'
        enabled: true
        type: 'Lifecycle'
        definition: {
          actions: {
            baseBlob: {
              delete: {
                daysAfterModificationGreaterThan: payloadRetentionDays
              }
            }
          }
          filters: {
            blobTypes: ['blockBlob']
            prefixMatch: ['payloads/', 'uploads/']
          }
        }
      }
    ]
    // Blob Data Owner: the Functions host needs it on Flex (deployment package, locks); it also covers
    // generateUserDelegationKey for upload SAS URLs, so Storage Blob Delegator is not needed.
    roleAssignments: roleAssignmentsFor(
      [roles.storageBlobDataOwner, roles.storageTableDataContributor],
      identityPrincipalId,
      [roles.storageBlobDataContributor, roles.storageTableDataContributor],
      deployer
    )
    privateEndpoints: vnetEnabled
      ? [
          privateEndpointFor('blob', privateEndpointSubnetId, privateDnsZoneIds.blob)
          privateEndpointFor('table', privateEndpointSubnetId, privateDnsZoneIds.table)
        ]
      : []
  }
}

output name string = account.outputs.name
output blobEndpoint string = account.outputs.serviceEndpoints.blob
output tableEndpoint string = account.outputs.serviceEndpoints.table
output deploymentContainerName string = deploymentContainerName
