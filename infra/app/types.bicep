// Shared types, role ids and the role-assignment helper, so each resource module grants access the same way.

@export()
@description('Whether and how the deploying principal gets data access for local runs against the cloud resources.')
type deployerAccess = {
  enabled: bool
  principalId: string
  principalType: 'User' | 'ServicePrincipal'
}

@export()
@description('Built-in role definition ids (least privilege for what the code calls).')
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

@export()
@description('AVM `roleAssignments` entries: the given roles to the app identity, and the deployer roles when enabled.')
func roleAssignmentsFor(identityRoles string[], identityPrincipalId string, deployerRoles string[], deployer deployerAccess) array =>
  concat(
    map(identityRoles, role => {
      principalId: identityPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionIdOrName: role
    }),
    deployer.enabled
      ? map(deployerRoles, role => {
          principalId: deployer.principalId
          principalType: deployer.principalType
          roleDefinitionIdOrName: role
        })
      : []
  )

@export()
@description('A private endpoint for one service of a resource, registered in its private DNS zone.')
func privateEndpointFor(service string, subnetId string, dnsZoneId string) object => {
  service: service
  subnetResourceId: subnetId
  privateDnsZoneGroup: {
    privateDnsZoneGroupConfigs: [
      {
        privateDnsZoneResourceId: dnsZoneId
      }
    ]
  }
}
