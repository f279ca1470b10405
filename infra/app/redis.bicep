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
      accessKeysAuthentication: 'Disabled'
      clientProtocol: 'Encrypted'
      // One endpoint that proxies to the shards: ioredis' plain (non-cluster) client works against it.
      clusteringPolicy: 'EnterpriseCluster'
      evictionPolicy: 'NoEviction'
      port: 10000
      accessPolicyAssignments: concat(
        [
          {
            name: 'app'
            accessPolicyName: 'default'
            userObjectId: identityPrincipalId
          }
        ],
        deployer.enabled
          ? [
              {
                name: 'deployer'
                accessPolicyName: 'default'
                userObjectId: deployer.principalId
              }
            ]
          : []
      )
    }
    privateEndpoints: vnetEnabled
      ? [privateEndpointFor('redisEnterprise', privateEndpointSubnetId, privateDnsZoneIds.redis)]
      : []
  }
}

output host string = cache.outputs.hostName
output port int = cache.outputs.port
