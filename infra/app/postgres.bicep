// PostgreSQL Flexible Server, Entra ID authentication only. The deploying principal is the Entra admin (it runs the
// migrations); the app's identity becomes a plain database role in the postprovision hook (least privilege), and
// connects through the built-in PgBouncer when the tier has it.
import { privateEndpointFor } from 'types.bicep'

param name string
param location string
param tags object
param skuName string
param tier string
param databaseName string
param pgbouncerEnabled bool
@description('Client connections PgBouncer accepts: maximum instances x the per-instance pool.')
param pgbouncerMaxClientConnections int
param adminPrincipalId string
param adminPrincipalName string
@allowed(['User', 'ServicePrincipal'])
param adminPrincipalType string
param deployerIpAddress string
param privateEndpointSubnetId string
param privateDnsZoneIds object

var vnetEnabled = !empty(privateEndpointSubnetId)
// Flex Consumption has no fixed outbound addresses, so without a VNet the server admits Azure-hosted clients (and
// the deployer's address, for migrations); authentication is Entra-only either way.
var firewallRules = concat(
  [
    {
      name: 'AllowAllAzureServicesAndResourcesWithinAzureIps'
      startIpAddress: '0.0.0.0'
      endIpAddress: '0.0.0.0'
    }
  ],
  empty(deployerIpAddress)
    ? []
    : [
        {
          name: 'deployer'
          startIpAddress: deployerIpAddress
          endIpAddress: deployerIpAddress
        }
      ]
)
var pgbouncerConfigurations = [
  {
    name: 'pgbouncer.enabled'
    value: 'true'
    source: 'user-override'
  }
  {
    name: 'pgbouncer.max_client_conn'
    value: string(pgbouncerMaxClientConnections)
    source: 'user-override'
  }
  {
    // Server connections per user/database pair: the app is one pair, well inside max_connections of GP/MO SKUs.
    name: 'pgbouncer.default_pool_size'
    value: '50'
    source: 'user-override'
  }
]

module server 'br/public:avm/res/db-for-postgre-sql/flexible-server:0.15.2' = {
  name: 'server'
  params: {
    name: name
    location: location
    tags: tags
    skuName: skuName
    tier: tier
    version: '17'
    storageSizeGB: 32
    availabilityZone: -1
    highAvailability: 'Disabled'
    // The module turns both on by default: geo-redundant backup costs extra backup storage, is not offered in every
    // region and cannot be changed once the server exists; Advanced Threat Protection (Microsoft Defender) is billed per
    // server.
    geoRedundantBackup: 'Disabled'
    enableAdvancedThreatProtection: false
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Disabled'
      tenantId: tenant().tenantId
    }
    administrators: [
      {
        objectId: adminPrincipalId
        principalName: adminPrincipalName
        principalType: adminPrincipalType
        tenantId: tenant().tenantId
      }
    ]
    databases: [
      {
        name: databaseName
        charset: 'UTF8'
        collation: 'en_US.utf8'
      }
    ]
    configurations: pgbouncerEnabled ? pgbouncerConfigurations : []
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    firewallRules: vnetEnabled ? [] : firewallRules
    privateEndpoints: vnetEnabled
      ? [privateEndpointFor('postgresqlServer', privateEndpointSubnetId, privateDnsZoneIds.postgres)]
      : []
  }
}

output name string = server.outputs.name
output host string = server.outputs.fqdn
