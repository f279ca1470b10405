// Longhaul on Azure: `azd up` provisions everything below and deploys functions/ to a Flex Consumption app.
// Structure follows Microsoft's Functions quickstart templates: this file at subscription scope, one module per concern
// under app/, Azure Verified Modules (br/public:avm/...) with pinned versions for every resource.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; it seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region for every resource. Flex Consumption regions only.')
@allowed([
  'australiaeast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'westcentralus'
  'westeurope'
  'westus2'
  'westus3'
])
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the person (or CI principal) running azd: the Postgres Entra admin, and given data roles when grantDeployerAccess is true.')
param principalId string = deployer().objectId

@description('Sign-in name of the deploying user. deployer() has it only for users: a service principal (CI) has none, so it is empty then.')
param deployerUserPrincipalName string = deployer().?userPrincipalName ?? ''

@description('Sign-in name of that principal: the Postgres role the migrations run as (a fixed name for a service principal).')
param principalName string = empty(deployerUserPrincipalName) ? 'longhaul-deployer' : deployerUserPrincipalName

@description('User for a person, ServicePrincipal for a CI identity.')
@allowed(['User', 'ServicePrincipal'])
param principalType string = empty(deployerUserPrincipalName) ? 'ServicePrincipal' : 'User'

@description('Resource id of an action group the alerts notify (e-mail, SMS, a webhook); empty: they show in the portal only.')
param alertActionGroupId string = ''

@description('Give the deploying principal data access (Service Bus, Blob, Table, Key Vault, Redis) for local runs against the cloud resources.')
param grantDeployerAccess bool = true

@description('Public IPv4 address allowed through the Postgres firewall, so the postprovision hook can migrate from this machine. Empty: none.')
param deployerIpAddress string = ''

@description('Private endpoints for Storage, Service Bus (Premium), Key Vault, Postgres and Redis, and VNet integration for the app.')
param vnetEnabled bool = false

@description('How callers authenticate (design §5); `none` is for local development only and is not offered here.')
@allowed(['apikey', 'entra'])
param authMode string = 'apikey'

@description('Memory of each Flex Consumption instance (MB): 512, 2048 or 4096. See docs/sizing.md.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Most instances the app may scale out to (API and worker together). Bounded so that instances x Postgres pool stays within PgBouncer.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Always-ready instances for the Service Bus worker (0 = scale from zero; the first message may then wait for a cold start).')
@minValue(0)
@maxValue(10)
param workerAlwaysReadyInstances int = 0

@description('Concurrent HTTP requests per instance. Open SSE streams count, so this is set above the Flex default. See docs/sizing.md.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 64

@description('PostgreSQL compute. The built-in PgBouncer needs GeneralPurpose or MemoryOptimized; on Burstable the app connects directly.')
param postgresSkuName string = 'Standard_D2ds_v5'

@allowed(['Burstable', 'GeneralPurpose', 'MemoryOptimized'])
param postgresTier string = 'GeneralPurpose'

@description('Azure Managed Redis SKU.')
param redisSkuName string = 'Balanced_B0'

@description('What starts every Redis channel and key of the app (REDIS_NAMESPACE): give each deployment that shares one Redis its own.')
@minLength(1)
@maxLength(64)
param redisNamespace string = 'longhaul'

@description('Days after which task payloads and uploads are deleted by the storage lifecycle rule.')
@minValue(1)
param payloadRetentionDays int = 30

@description('Browser origins (comma-separated, exact, e.g. https://app.example.com) allowed to call the API cross-origin (empty turns CORS off) and, besides the app\'s own, to PUT uploads to Blob storage.')
param corsAllowedOrigins string = ''

@description('More origins allowed to PUT uploads straight to Blob storage, besides the app\'s own and corsAllowedOrigins.')
param uploadCorsOrigins array = []

@description('With authMode entra: the application (client) id of the API app registration (docs/security.md#entra-id).')
param entraClientId string = ''

@description('With authMode entra: the client id of the single-page app registration the web UI signs in with; empty means entraClientId.')
param entraUiClientId string = ''

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var identityName = '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
var tasksQueueName = 'tasks'
var databaseName = 'longhaul'
// functions/platform/postgres-pool.ts opens at most this many connections per instance (its `max`).
var postgresPoolSizePerInstance = 10
var pgbouncerEnabled = postgresTier != 'Burstable'
// The web UI PUTs uploads straight to Blob storage (POST /api/uploads hands it a SAS URL): from the app's own origin,
// or from any origin allowed to call the API.
var blobCorsOrigins = union(
  ['https://${functionAppName}.azurewebsites.net'],
  filter(map(split(corsAllowedOrigins, ','), origin => trim(origin)), origin => !empty(origin)),
  uploadCorsOrigins
)
// network.bicep lists its zones as { key, resourceId }; the resource modules take them keyed by service.
var privateDnsZoneIds = vnetEnabled
  ? toObject(network!.outputs.privateDnsZones, zone => zone.key, zone => zone.resourceId)
  : {}
var deployerAccess = {
  enabled: grantDeployerAccess && !empty(principalId)
  principalId: principalId
  principalType: principalType
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// The one identity of the app: every data-plane call (Storage, Service Bus, Key Vault, Postgres, Redis, App Insights).
module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'identity'
  scope: rg
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    workspaceName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
    deployer: deployerAccess
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    applicationInsightsResourceId: monitoring.outputs.resourceId
    location: location
    tags: tags
    namePrefix: 'longhaul-${resourceToken}'
    actionGroupResourceId: alertActionGroupId
  }
}

module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    applicationInsightsResourceId: monitoring.outputs.resourceId
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
    corsOrigins: blobCorsOrigins
    payloadRetentionDays: payloadRetentionDays
    identityPrincipalId: identity.outputs.principalId
    deployer: deployerAccess
    privateEndpointSubnetId: vnetEnabled ? network!.outputs.privateEndpointSubnetId : ''
    privateDnsZoneIds: privateDnsZoneIds
  }
}

module serviceBus 'app/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    name: '${abbrs.serviceBusNamespaces}${resourceToken}'
    location: location
    tags: tags
    // Private endpoints need Premium; without a VNet, Standard is enough (claim check keeps messages small).
    skuName: vnetEnabled ? 'Premium' : 'Standard'
    queueName: tasksQueueName
    identityPrincipalId: identity.outputs.principalId
    deployer: deployerAccess
    privateEndpointSubnetId: vnetEnabled ? network!.outputs.privateEndpointSubnetId : ''
    privateDnsZoneIds: privateDnsZoneIds
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
    deployer: deployerAccess
    privateEndpointSubnetId: vnetEnabled ? network!.outputs.privateEndpointSubnetId : ''
    privateDnsZoneIds: privateDnsZoneIds
  }
}

module postgres 'app/postgres.bicep' = {
  name: 'postgres'
  scope: rg
  params: {
    name: '${abbrs.dBforPostgreSQLServers}${resourceToken}'
    location: location
    tags: tags
    skuName: postgresSkuName
    tier: postgresTier
    databaseName: databaseName
    pgbouncerEnabled: pgbouncerEnabled
    // Every instance may open a full pool; PgBouncer must accept them all.
    pgbouncerMaxClientConnections: maximumInstanceCount * postgresPoolSizePerInstance
    adminPrincipalId: principalId
    adminPrincipalName: principalName
    adminPrincipalType: principalType
    deployerIpAddress: deployerIpAddress
    privateEndpointSubnetId: vnetEnabled ? network!.outputs.privateEndpointSubnetId : ''
    privateDnsZoneIds: privateDnsZoneIds
  }
}

module redis 'app/redis.bicep' = {
  name: 'redis'
  scope: rg
  params: {
    name: '${abbrs.cacheRedis}${resourceToken}'
    location: location
    tags: tags
    skuName: redisSkuName
    identityPrincipalId: identity.outputs.principalId
    deployer: deployerAccess
    privateEndpointSubnetId: vnetEnabled ? network!.outputs.privateEndpointSubnetId : ''
    privateDnsZoneIds: privateDnsZoneIds
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityResourceId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    identityPrincipalId: identity.outputs.principalId
    identityName: identityName
    deploymentContainerUrl: '${storage.outputs.blobEndpoint}${storage.outputs.deploymentContainerName}'
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    workerAlwaysReadyInstances: workerAlwaysReadyInstances
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    virtualNetworkSubnetId: vnetEnabled ? network!.outputs.appSubnetId : ''
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    blobEndpoint: storage.outputs.blobEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    serviceBusHostName: serviceBus.outputs.hostName
    tasksQueueName: tasksQueueName
    postgresHost: postgres.outputs.host
    postgresPort: pgbouncerEnabled ? 6432 : 5432
    databaseName: databaseName
    redisHost: redis.outputs.host
    redisPort: redis.outputs.port
    redisNamespace: redisNamespace
    keyVaultUrl: keyVault.outputs.uri
    authMode: authMode
    corsAllowedOrigins: corsAllowedOrigins
    entraTenantId: tenant().tenantId
    entraClientId: entraClientId
    entraUiClientId: entraUiClientId
  }
}

// Outputs become the azd environment: the hooks and docs/deploy.md use them. Names and endpoints only, no secrets.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = 'https://${api.outputs.defaultHostname}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_IDENTITY_NAME string = identityName
output AZURE_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output POSTGRES_HOST string = postgres.outputs.host
output POSTGRES_DATABASE string = databaseName
output POSTGRES_ADMIN_NAME string = principalName
output AUTH_MODE string = authMode
