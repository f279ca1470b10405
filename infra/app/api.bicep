// The Flex Consumption plan and the function app (API, worker and sweeper in one app; Flex scales the HTTP group and
// the Service Bus trigger separately). App settings use the names of functions/platform/settings.ts.
param name string
param planName string
param location string
param tags object
param identityResourceId string
param identityClientId string
param identityPrincipalId string
param identityName string
param deploymentContainerUrl string
param instanceMemoryMB int
param maximumInstanceCount int
param workerAlwaysReadyInstances int
param httpPerInstanceConcurrency int
param virtualNetworkSubnetId string
param applicationInsightsConnectionString string
param blobEndpoint string
param tableEndpoint string
param serviceBusHostName string
param tasksQueueName string
param postgresHost string
param postgresPort int
param databaseName string
param redisHost string
param redisPort int
param redisNamespace string
param keyVaultUrl string
param authMode string
param corsAllowedOrigins string
param entraTenantId string
param entraClientId string
param entraUiClientId string

// The worker's Service Bus trigger (functions/app/triggers.ts); Flex names per-function always-ready entries `function:<name>`.
var workerFunctionName = 'processTaskMessage'
// Tuning takes the values of local.settings.example.json, so local and deployed runs behave alike.
var localSettings = loadJsonContent('../../local.settings.example.json').Values
var tuningSettingNames = [
  'SLICE_BUDGET_SECONDS'
  'HEARTBEAT_SECONDS'
  'LEASE_SECONDS'
  'SSE_MAX_SECONDS'
  'MAX_PAYLOAD_BYTES'
  'MAX_UPLOAD_BYTES'
  'MAX_HEADER_BYTES'
  'MAX_JSON_DEPTH'
  'RETRY_MAX_ATTEMPTS'
  'RETRY_BASE_SECONDS'
  'RETENTION_DAYS'
  'RETENTION_BATCH_SIZE'
  'SWEEP_UNSENT_SECONDS'
  'MAX_TAKEOVERS'
  'STEP_ABORT_GRACE_SECONDS'
  'SUBMIT_DEPENDENCY_TIMEOUT_MS'
  'RATE_LIMIT_SUBMITS_PER_MINUTE'
  'RATE_LIMIT_READS_PER_MINUTE'
  'MAX_ACTIVE_TASKS_PER_CALLER'
  'WEBHOOK_MAX_ATTEMPTS'
  'WEBHOOK_RETRY_BASE_SECONDS'
  'LOG_LEVEL'
]
var tuningSettings = toObject(tuningSettingNames, setting => setting, setting => localSettings[setting])

// Identity-based connections only: endpoints and the identity's ids, never a key, password or connection string.
var connectionSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  // The catch-all route serves the UI at /; should it ever fail to load, / answers 204, not the host's home page.
  AzureWebJobsDisableHomepage: 'true'
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  AZURE_CLIENT_ID: identityClientId
  ServiceBusConnection__fullyQualifiedNamespace: serviceBusHostName
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identityClientId
  TASKS_QUEUE: tasksQueueName
  TASKS_STORAGE__blobServiceUri: blobEndpoint
  TASKS_STORAGE__tableServiceUri: tableEndpoint
  TASKS_STORAGE__clientId: identityClientId
  PGHOST: postgresHost
  PGPORT: string(postgresPort)
  PGUSER: identityName
  PGDATABASE: databaseName
  PGSSLMODE: 'require'
  REDIS_HOST: redisHost
  REDIS_PORT: string(redisPort)
  // Azure Managed Redis signs Entra identities in with their object id as the user name.
  REDIS_USERNAME: identityPrincipalId
  REDIS_NAMESPACE: redisNamespace
  KEY_VAULT_URL: keyVaultUrl
  AUTH_MODE: authMode
  CORS_ALLOWED_ORIGINS: corsAllowedOrigins
  // Read with AUTH_MODE=entra only; start-up names whichever is missing then.
  ENTRA_TENANT_ID: entraTenantId
  ENTRA_CLIENT_ID: entraClientId
  ENTRA_UI_CLIENT_ID: entraUiClientId
  WEBHOOK_SIGNING_SECRET: '@kv:webhook-signing-secret'
  STREAM_TOKEN_SECRET: '@kv:stream-token-secret'
  API_KEY_PEPPER: '@kv:api-key-pepper'
}

module plan 'br/public:avm/res/web/serverfarm:0.7.0' = {
  name: 'plan'
  params: {
    name: planName
    location: location
    tags: tags
    skuName: 'FC1'
    reserved: true
  }
}

module site 'br/public:avm/res/web/site:0.23.1' = {
  name: 'site'
  params: {
    name: name
    location: location
    // azd finds the app to deploy `api` to by this tag.
    tags: union(tags, { 'azd-service-name': 'api' })
    kind: 'functionapp,linux'
    serverFarmResourceId: plan.outputs.resourceId
    managedIdentities: {
      userAssignedResourceIds: [identityResourceId]
    }
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    virtualNetworkSubnetResourceId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    outboundVnetRouting: empty(virtualNetworkSubnetId) ? null : { allTraffic: true }
    // No siteConfig.cors: the platform's CORS answers preflights itself and would override the app's
    // (CORS_ALLOWED_ORIGINS), so it must stay empty.
    siteConfig: {
      alwaysOn: false
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityResourceId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: workerAlwaysReadyInstances > 0
          ? [
              {
                name: 'function:${workerFunctionName}'
                instanceCount: workerAlwaysReadyInstances
              }
            ]
          : []
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
    configs: [
      {
        name: 'appsettings'
        properties: union(tuningSettings, connectionSettings)
      }
    ]
  }
}

output name string = site.outputs.name
output defaultHostname string = site.outputs.defaultHostname
