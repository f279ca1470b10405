/** A decimal number as CSV files write them: "12", "-3.5", ".5", "1e6", " 7 ". Hex, "Infinity" and "1,000" are text. */
const DECIMAL = /^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/** The value as a finite number, or undefined when it is not one. */
export function parseNumber(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const x = Number(text);
  // "1e999" looks like a number but is not finite. -0 becomes 0: JSON has no -0, and a run resumed from a
  // checkpoint must give exactly what one pass gives.
  return Number.isFinite(x) ? x + 0 : undefined;
}

/** A running sum or moment in a checkpoint: JSON has no Infinity or NaN, so those are kept as strings. */
export type JsonNumber = number | string;

export const toJsonNumber = (x: number): JsonNumber => (Number.isFinite(x) ? x : String(x));

export const fromJsonNumber = (x: JsonNumber): number => (typeof x === 'number' ? x : Number(x));
