const ISO_DURATION =
  /^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;
/** .NET TimeSpan text: `[-][d.]hh:mm[:ss[.fffffff]]`. */
const TIMESPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$/;

const DAY_MS = 86_400_000;

/**
 * Milliseconds in a duration as Microsoft's emulator reads Config.json: ISO-8601 (`PT1M`, `P14DT2H`,
 * `P0Y0M0DT0H0M30S`) or a .NET TimeSpan (`00:01:00`, `1.00:00:00`). Years and months count 365 and 30 days,
 * as .NET's XmlConvert.ToTimeSpan does. Throws on anything else.
 */
export function parseIsoDuration(text: string): number {
  const t = text.trim();
  const span = TIMESPAN.exec(t);
  if (span) {
    const [days, hours, minutes, seconds] = span.slice(1, 5).map((v) => (v ? Number(v) : 0));
    if (hours > 23 || minutes > 59 || seconds > 59) throw notADuration(text);
    const fraction = span[5] ? Number(`0.${span[5]}`) : 0;
    return Math.round(days * DAY_MS + ((hours * 60 + minutes) * 60 + seconds + fraction) * 1000);
  }
  const m = ISO_DURATION.exec(t);
  if (!m || t === 'P' || t.endsWith('T')) throw notADuration(text);
  const [years, months, days, hours, minutes, seconds] = m.slice(1).map((v) => (v ? Number(v) : 0));
  return Math.round(
    (years * 365 + months * 30 + days) * DAY_MS + ((hours * 60 + minutes) * 60 + seconds) * 1000,
  );
}

function notADuration(text: string): Error {
  return new Error(
    `"${text}" is not an ISO-8601 duration (e.g. PT1M, PT30S, P1D) or a TimeSpan (e.g. 00:01:00)`,
  );
}
