// Azure Managed Redis for live progress (PUBLISH / SUBSCRIBE only), Entra ID authentication only: the app's identity
// (and optionally the deployer) get the default access policy; access keys are disabled.
import { deployerAccess, privateEndpointFor } from 'types.bicep'

param name string
param location string
param tags object
param skuName string
param identityPrincipalId string
param deployer deployerAccess
param privateEndpointSubnetId string
param privateDnsZoneIds object

var vnetEnabled = !empty(privateEndpointSubnetId)
var databaseName = 'default'

module cache 'br/public:avm/res/cache/redis-enterprise:0.5.1' = {
  name: 'cache'
  params: {
    name: name
    location: location
    tags: tags
    skuName: skuName
    // Live progress is a convenience on top of Postgres (streams fall back to polling), so no replica by default.
    highAvailability: 'Disabled'
    minimumTlsVersion: '1.2'
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    database: {
      name: databaseName
      accessKeysAuthentication: 'Disabled'
      clientProtocol: 'Encrypted'
      // One endpoint that proxies to the shards: ioredis' plain (non-cluster) client works against it.
      clusteringPolicy: 'EnterpriseCluster'
      evictionPolicy: 'NoEviction'
      port: 10000
      // One assignment only: the module creates its list in parallel, which Azure Managed Redis rejects (one
      // access-policy operation at a time per cache). The deployer's follows below, once this one is done.
      accessPolicyAssignments: [
        {
          name: 'app'
          accessPolicyName: 'default'
          userObjectId: identityPrincipalId
        }
      ]
    }
    privateEndpoints: vnetEnabled
      ? [privateEndpointFor('redisEnterprise', privateEndpointSubnetId, privateDnsZoneIds.redis)]
      : []
  }
}

resource cluster 'Microsoft.Cache/redisEnterprise@2025-07-01' existing = {
  name: name

  resource database 'databases' existing = {
    name: databaseName
  }
}

// Not through the module: its assignments would run in parallel with the app's. dependsOn makes it sequential.
resource deployerAccessPolicy 'Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments@2025-07-01' = if (deployer.enabled) {
  parent: cluster::database
  name: 'deployer'
  properties: {
    accessPolicyName: 'default'
    user: {
      objectId: deployer.principalId
    }
  }
  dependsOn: [cache]
}

output host string = cache.outputs.hostName
output port int = cache.outputs.port
