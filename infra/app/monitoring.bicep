// Log Analytics and Application Insights with local (key) authentication disabled: the app's identity publishes
// telemetry with Monitoring Metrics Publisher, so the connection string alone cannot ingest anything.
import { deployerAccess, roleAssignmentsFor, roles } from 'types.bicep'

param workspaceName string
param applicationInsightsName string
param location string
param tags object
param identityPrincipalId string
param deployer deployerAccess

module workspace 'br/public:avm/res/operational-insights/workspace:0.15.0' = {
  name: 'workspace'
  params: {
    name: workspaceName
    location: location
    tags: tags
    dataRetention: 30
  }
}

module applicationInsights 'br/public:avm/res/insights/component:0.7.1' = {
  name: 'applicationInsights'
  params: {
    name: applicationInsightsName
    location: location
    tags: tags
    workspaceResourceId: workspace.outputs.resourceId
    applicationType: 'web'
    disableLocalAuth: true
    roleAssignments: roleAssignmentsFor(
      [roles.monitoringMetricsPublisher],
      identityPrincipalId,
      [roles.monitoringMetricsPublisher],
      deployer
    )
  }
}

// Not a credential while local auth is disabled (ingestion needs an Entra token); Functions reads it to find the endpoint.
output connectionString string = applicationInsights.outputs.connectionString
output name string = applicationInsights.outputs.name
output resourceId string = applicationInsights.outputs.resourceId
