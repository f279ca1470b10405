/** App settings as the Functions host reads them for bindings: `%NAME%` expressions and connection names. */

export type AppSettings = Readonly<Record<string, string>>;

/** Replaces each `%NAME%` in `expression` with that app setting; throws naming the setting when it is missing. */
export function resolveSettingExpression(expression: string, settings: AppSettings, usedFor: string): string {
  return expression.replace(/%([^%]+)%/g, (_match, name: string) => {
    const value = settings[name];
    if (value === undefined || value === '') {
      throw new Error(`App setting ${name} is missing (needed for ${usedFor})`);
    }
    return value;
  });
}

export type ServiceBusConnection =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'identity'; fullyQualifiedNamespace: string; clientId?: string };

/**
 * The identity-based connection convention: `NAME` holds a connection string, or `NAME__fullyQualifiedNamespace`
 * (with an optional `NAME__clientId` for a user-assigned identity) selects a token credential.
 */
export function resolveServiceBusConnection(name: string, settings: AppSettings): ServiceBusConnection {
  const connectionString = settings[name];
  if (connectionString) return { kind: 'connectionString', connectionString };
  const fullyQualifiedNamespace = settings[`${name}__fullyQualifiedNamespace`];
  if (fullyQualifiedNamespace) {
    const clientId = settings[`${name}__clientId`] || undefined;
    return { kind: 'identity', fullyQualifiedNamespace, ...(clientId ? { clientId } : {}) };
  }
  throw new Error(
    `App setting ${name} (or ${name}__fullyQualifiedNamespace) is missing (Service Bus connection)`,
  );
}
