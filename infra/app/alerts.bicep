// Log search alerts on Application Insights (classic table names: the rules are scoped to the component). Each query
// lives in queries/ and is checked offline against the telemetry the app emits (test/infra/monitoring.test.ts).
param applicationInsightsResourceId string
param location string
param tags object
param namePrefix string

@description('Action group to notify when an alert fires; empty: the alerts fire in the portal only.')
param actionGroupResourceId string

var actions = empty(actionGroupResourceId) ? {} : { actionGroupResourceIds: [actionGroupResourceId] }

// threshold: fire when the measure is above it (GreaterThan) over windowSize, evaluated every frequency.
var rules = [
  {
    name: 'failed-task-rate'
    displayName: 'Longhaul: failed-task rate above 10 %'
    description: 'More than 10 % of the tasks that ended in the last 30 minutes failed (with at least 10 ended).'
    query: loadTextContent('queries/failed-task-rate.kql')
    measure: 'failureRate'
    threshold: json('0.1')
    severity: 2
    frequency: 'PT5M'
    window: 'PT30M'
  }
  {
    name: 'dead-letters'
    displayName: 'Longhaul: messages dead-lettered'
    description: 'A task message was dead-lettered: GET /api/admin/dead-letters says which and why (docs/operations.md).'
    query: loadTextContent('queries/dead-letters.kql')
    measure: 'deadLetters'
    threshold: 0
    severity: 2
    frequency: 'PT5M'
    window: 'PT5M'
  }
  {
    name: 'oldest-queued'
    displayName: 'Longhaul: a task queued for over 10 minutes'
    description: 'The oldest queued task is older than 10 minutes: workers are not keeping up or not receiving.'
    query: loadTextContent('queries/oldest-queued.kql')
    measure: 'oldestQueuedSeconds'
    threshold: 600
    severity: 2
    frequency: 'PT5M'
    window: 'PT5M'
  }
  {
    name: 'sweeper-redrives'
    displayName: 'Longhaul: the sweeper keeps re-driving tasks'
    description: 'The sweeper re-sent or re-drove more than 3 tasks or deliveries in 15 minutes (lost sends, stalled workers).'
    query: loadTextContent('queries/sweeper-redrives.kql')
    measure: 'redrives'
    threshold: 3
    severity: 3
    frequency: 'PT5M'
    window: 'PT15M'
  }
  {
    name: 'queue-wait-p95'
    displayName: 'Longhaul: p95 queue wait above 60 s'
    description: 'The 95th percentile of the time from submit to a task starting exceeded 60 s over 15 minutes.'
    query: loadTextContent('queries/queue-wait-p95.kql')
    measure: 'p95QueueWaitSeconds'
    threshold: 60
    severity: 3
    frequency: 'PT5M'
    window: 'PT15M'
  }
  {
    name: 'sse-errors'
    displayName: 'Longhaul: event stream errors'
    description: 'More than 5 event streams failed, or could not read missed events from Postgres, in 15 minutes.'
    query: loadTextContent('queries/sse-errors.kql')
    measure: 'sseErrors'
    threshold: 5
    severity: 3
    frequency: 'PT5M'
    window: 'PT15M'
  }
]

module alerts 'br/public:avm/res/insights/scheduled-query-rule:0.6.0' = [
  for rule in rules: {
    name: 'alert-${rule.name}'
    params: {
      name: '${namePrefix}-${rule.name}'
      location: location
      tags: tags
      alertDisplayName: rule.displayName
      alertDescription: rule.description
      scopes: [applicationInsightsResourceId]
      severity: rule.severity
      evaluationFrequency: rule.frequency
      windowSize: rule.window
      actions: actions
      criterias: {
        allOf: [
          {
            query: rule.query
            metricMeasureColumn: rule.measure
            timeAggregation: 'Maximum'
            operator: 'GreaterThan'
            threshold: rule.threshold
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
    }
  }
]
