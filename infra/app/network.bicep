// Optional (vnetEnabled): a VNet with a subnet for the app's VNet integration and one for private endpoints, and a
// private DNS zone per service so that the app resolves each endpoint to its private address.
param name string
param location string
param tags object

// Flex Consumption integrates with a subnet delegated to Microsoft.App/environments.
var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'
var zones = {
  blob: 'privatelink.blob.${environment().suffixes.storage}'
  table: 'privatelink.table.${environment().suffixes.storage}'
  servicebus: 'privatelink.servicebus.windows.net'
  vault: 'privatelink.vaultcore.azure.net'
  postgres: 'privatelink.postgres.database.azure.com'
  redis: 'privatelink.redis.azure.net'
}

module vnet 'br/public:avm/res/network/virtual-network:0.6.1' = {
  name: 'vnet'
  params: {
    name: name
    location: location
    tags: tags
    addressPrefixes: ['10.0.0.0/16']
    subnets: [
      {
        name: privateEndpointSubnetName
        addressPrefix: '10.0.1.0/24'
        privateEndpointNetworkPolicies: 'Disabled'
      }
      {
        name: appSubnetName
        addressPrefix: '10.0.2.0/24'
        delegation: 'Microsoft.App/environments'
      }
    ]
  }
}

module dnsZones 'br/public:avm/res/network/private-dns-zone:0.8.1' = [
  for zone in items(zones): {
    name: 'dns-${zone.key}'
    params: {
      name: zone.value
      tags: tags
      virtualNetworkLinks: [
        {
          virtualNetworkResourceId: vnet.outputs.resourceId
          registrationEnabled: false
        }
      ]
    }
  }
]

output appSubnetId string = '${vnet.outputs.resourceId}/subnets/${appSubnetName}'
output privateEndpointSubnetId string = '${vnet.outputs.resourceId}/subnets/${privateEndpointSubnetName}'
// One entry per zone ({ key, resourceId }); main.bicep turns them into an object keyed like `zones`. A `for` loop,
// not a lambda: the compiler refuses lambda variables in module collection access (BCP247), and it compiles this file
// even when vnetEnabled is false.
output privateDnsZones array = [
  for (zone, i) in items(zones): {
    key: zone.key
    resourceId: dnsZones[i].outputs.resourceId
  }
]
