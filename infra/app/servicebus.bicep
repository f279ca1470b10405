// Service Bus with the `tasks` queue. The queue's properties are read from the emulator's config, so local runs and
// Azure behave alike; only Entra ID may connect (local SAS auth is disabled).
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

module namespace 'br/public:avm/res/service-bus/namespace:0.16.1' = {
  name: 'namespace'
  params: {
    name: name
    location: location
    tags: tags
    skuObject: skuName == 'Premium' ? { name: 'Premium', capacity: 1 } : { name: 'Standard' }
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
        defaultMessageTimeToLive: emulatorQueue.DefaultMessageTimeToLive
        deadLetteringOnMessageExpiration: emulatorQueue.DeadLetteringOnMessageExpiration
        requiresSession: emulatorQueue.RequiresSession
      }
    ]
    // The API sends (submit, continuations, retries) and the worker receives and settles: Sender + Receiver, not Owner.
    roleAssignments: roleAssignmentsFor(
      [roles.serviceBusDataSender, roles.serviceBusDataReceiver],
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
