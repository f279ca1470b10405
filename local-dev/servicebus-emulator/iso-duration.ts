const ISO_DURATION =
  /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** Milliseconds in an ISO-8601 duration such as `PT1M`, `PT0.5S` or `P14DT2H`; throws on anything else. */
export function parseIsoDuration(text: string): number {
  const m = ISO_DURATION.exec(text.trim());
  if (!m || text.trim() === 'P' || text.trim().endsWith('T')) {
    throw new Error(`"${text}" is not an ISO-8601 duration (e.g. PT1M, PT30S, P1D)`);
  }
  const [days, hours, minutes, seconds] = m.slice(1).map((v) => (v ? Number(v) : 0));
  return Math.round((((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000);
}
