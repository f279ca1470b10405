import '@kusto/language-service-next/bridge.min.js';
import '@kusto/language-service-next/Kusto.Language.Bridge.min.js';

/**
 * KQL checked offline with Microsoft's Kusto language service (the parser and binder behind Azure Data Explorer's and
 * Log Analytics' editors): syntax, and names resolved against the Application Insights tables as a query scoped to
 * the component sees them (classic names; https://learn.microsoft.com/azure/azure-monitor/app/data-model-complete).
 */

interface KustoList<T> {
  Count: number;
  getItem(index: number): T;
}
interface KustoDiagnostic {
  Message: string;
  Start: number;
}
interface KustoColumn {
  Name: string;
  Type: { Name: string };
}
interface KustoCode {
  GetDiagnostics(): KustoList<KustoDiagnostic>;
  ResultType: { Columns?: KustoList<KustoColumn> } | null;
}
interface KustoLanguage {
  KustoCode: { ParseAndAnalyze(text: string, globals: unknown): KustoCode };
  GlobalState: { Default: { WithDatabase(db: unknown): unknown } };
  Symbols: {
    TableSymbol: { $ctor7: new (name: string, schema: string, description: string) => unknown };
    DatabaseSymbol: {
      $ctor2: new (name: string, alternateName: string | null, members: unknown[]) => unknown;
    };
  };
}

const Kusto = (globalThis as unknown as { Kusto: { Language: KustoLanguage } }).Kusto.Language;

const COMMON =
  'timestamp:datetime, itemType:string, customDimensions:dynamic, operation_Id:string, operation_ParentId:string, ' +
  'operation_Name:string, cloud_RoleName:string, cloud_RoleInstance:string, appName:string, sdkVersion:string';

/** The classic Application Insights tables, with the columns the Logs blade shows. */
const TABLES: Record<string, string> = {
  customMetrics: `${COMMON}, name:string, value:real, valueCount:int, valueSum:real, valueMin:real, valueMax:real, valueStdDev:real`,
  requests: `${COMMON}, id:string, name:string, url:string, source:string, success:string, resultCode:string, duration:real, performanceBucket:string, itemCount:int`,
  dependencies: `${COMMON}, id:string, target:string, type:string, name:string, data:string, success:string, resultCode:string, duration:real, performanceBucket:string, itemCount:int`,
  traces: `${COMMON}, message:string, severityLevel:int, itemCount:int`,
  exceptions: `${COMMON}, problemId:string, type:string, assembly:string, method:string, outerMessage:string, innermostMessage:string, details:dynamic, itemCount:int`,
};

const globals = Kusto.GlobalState.Default.WithDatabase(
  new Kusto.Symbols.DatabaseSymbol.$ctor2(
    'applicationinsights',
    null,
    Object.entries(TABLES).map(
      ([name, columns]) => new Kusto.Symbols.TableSymbol.$ctor7(name, `(${columns})`, ''),
    ),
  ),
);

export interface KqlAnalysis {
  /** Syntax and binding errors, each with the text around it. */
  errors: string[];
  /** The result's columns and their types (`real`, `long`, `string`, …). */
  columns: Map<string, string>;
}

function list<T>(items: KustoList<T> | undefined): T[] {
  return items ? Array.from({ length: items.Count }, (_, i) => items.getItem(i)) : [];
}

export function analyzeKql(query: string): KqlAnalysis {
  const code = Kusto.KustoCode.ParseAndAnalyze(query, globals);
  return {
    errors: list(code.GetDiagnostics()).map(
      (d) => `${d.Message} (at "${query.slice(d.Start, d.Start + 30).replace(/\s+/g, ' ')}")`,
    ),
    columns: new Map(list(code.ResultType?.Columns).map((c) => [c.Name, c.Type.Name])),
  };
}
