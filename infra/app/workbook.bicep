// The operators' workbook in Application Insights: the queries of queries/ as charts over the last day. No Azure
// Verified Module covers workbooks, so this is the resource itself (Microsoft.Insights/workbooks, API 2023-06-01).
param applicationInsightsResourceId string
param location string
param tags object

var panels = [
  {
    title: 'Tasks by type: submitted, succeeded, failed, cancelled, failure rate'
    query: loadTextContent('queries/tasks-by-type-over-time.kql')
    visualization: 'timechart'
  }
  {
    title: 'Queue wait percentiles (seconds)'
    query: loadTextContent('queries/queue-wait-over-time.kql')
    visualization: 'timechart'
  }
  {
    title: 'Backlog: oldest queued task (seconds), sweeper re-drives, dead letters'
    query: loadTextContent('queries/backlog-over-time.kql')
    visualization: 'timechart'
  }
  {
    title: 'Event streams: open, and errors'
    query: loadTextContent('queries/streams-over-time.kql')
    visualization: 'timechart'
  }
  {
    title: 'Dead letters by reason (last window)'
    query: loadTextContent('queries/dead-letters.kql')
    visualization: 'table'
  }
  {
    title: 'Sweeper re-drives by reason (last window)'
    query: loadTextContent('queries/sweeper-redrives.kql')
    visualization: 'table'
  }
]

var content = {
  version: 'Notebook/1.0'
  items: concat(
    [
      {
        type: 1
        content: { json: '## Longhaul\nTasks, queue, backlog and event streams. The alerts use the same queries.' }
      }
    ],
    [
      for (panel, i) in panels: {
        type: 3
        name: 'panel-${i}'
        content: {
          version: 'KqlItem/1.0'
          title: panel.title
          query: panel.query
          queryType: 0
          resourceType: 'microsoft.insights/components'
          visualization: panel.visualization
          timeContext: { durationMs: 86400000 }
          size: 0
        }
      }
    ]
  )
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(applicationInsightsResourceId, 'longhaul-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Longhaul operations'
    category: 'workbook'
    sourceId: applicationInsightsResourceId
    serializedData: string(content)
  }
}

output id string = workbook.id
