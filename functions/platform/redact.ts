/**
 * Secrets that can reach a log line through a URL, a header echoed in an error, or a connection string in a driver's
 * message, each with what replaces it. Patterns keep the name (`AccountKey=`, `Bearer `) so the line still says what
 * was there.
 */
const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // JWTs (Entra access tokens): three base64url parts, the first two JSON objects (`{"` is `eyJ`).
  [/\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, 'REDACTED-JWT'],
  // Longhaul API keys: `lh_` and 43 base64url characters (functions/auth/api-keys.ts); shorter runs are key prefixes.
  [/\blh_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g, 'lh_REDACTED'],
  [/\b(Bearer\s+)[^\s,;"']+/gi, '$1REDACTED'],
  [/\b(x-api-key["']?\s*[:=]\s*["']?)[^\s,;"']+/gi, '$1REDACTED'],
  // Stream tokens, SAS signatures and OAuth codes in query strings.
  [/([?&](?:token|sig|code)=)[^&#\s"']+/gi, '$1REDACTED'],
  // Connection strings (Storage, Service Bus, ADO.NET/libpq key=value).
  [/\b((?:AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd)=)[^;\s&"']+/gi, '$1REDACTED'],
  // Credentials in URLs: scheme://user:password@host (also redis://:password@host).
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:)[^\s@/]+@/gi, '$1REDACTED@'],
];

/** The line with every credential the app knows the shape of replaced by `REDACTED`; applied to every log line. */
export function redactSecrets(line: string): string {
  let out = line;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
