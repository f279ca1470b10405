/** Checks `check` every 20 ms until it holds or `timeoutMs` has passed; answers whether it held. */
export async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  for (const end = Date.now() + timeoutMs; !check() && Date.now() < end;)
    await new Promise((r) => setTimeout(r, 20));
  return check();
}
