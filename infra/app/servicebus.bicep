// Service Bus with the `tasks` queue. The queue's properties are read from the emulator's config, so local runs and
// Azure behave alike, except message expiry (below); only Entra ID may connect (local SAS auth is disabled).
import { deployerAccess, privateEndpointFor, roleAssignmentsFor, roles } from 'types.bicep'

param name string
param location string
param tags object
@allowed(['Standard', 'Premium'])
param skuName string
param queueName string
param identityPrincipalId string
param deployer deployerAccess
param privateEndpointSubnetId string
param privateDnsZoneIds object

var emulatorQueues = loadJsonContent('../../local-dev/servicebus-config.json').UserConfig.Namespaces[0].Queues
var emulatorQueue = filter(emulatorQueues, queue => queue.Name == queueName)[0].Properties
var vnetEnabled = !empty(privateEndpointSubnetId)
// The emulator caps the time to live at PT1H (its config schema), too short in Azure: a queued or scheduled message (a
// retry waits with backoff) may wait longer than an hour. Azure keeps messages 14 days and dead-letters what expires
// instead of dropping it.
var azureMessageTimeToLive = 'P14D'

module namespace 'br/public:avm/res/service-bus/namespace:0.16.1' = {
  name: 'namespace'
  params: {
    name: name
    location: location
    tags: tags
    skuObject: skuName == 'Premium' ? { name: 'Premium', capacity: 1 } : { name: 'Standard' }
    // The module turns zone redundancy on by default, which only Premium offers.
    zoneRedundant: skuName == 'Premium'
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    queues: [
      {
        name: queueName
        lockDuration: emulatorQueue.LockDuration
        maxDeliveryCount: emulatorQueue.MaxDeliveryCount
        requiresDuplicateDetection: emulatorQueue.RequiresDuplicateDetection
        duplicateDetectionHistoryTimeWindow: emulatorQueue.DuplicateDetectionHistoryTimeWindow
        defaultMessageTimeToLive: azureMessageTimeToLive
        deadLetteringOnMessageExpiration: true
        requiresSession: emulatorQueue.RequiresSession
      }
    ]
    // The API sends (submit, continuations, retries) and the worker receives and settles; Data Owner because the Functions
    // scale controller reads the queue's length with the trigger's connection, which needs Manage rights.
    roleAssignments: roleAssignmentsFor(
      [roles.serviceBusDataOwner],
      identityPrincipalId,
      [roles.serviceBusDataSender, roles.serviceBusDataReceiver],
      deployer
    )
    privateEndpoints: vnetEnabled
      ? [privateEndpointFor('namespace', privateEndpointSubnetId, privateDnsZoneIds.servicebus)]
      : []
  }
}

output name string = namespace.outputs.name
output hostName string = '${namespace.outputs.name}.servicebus.windows.net'
