// Waits for a condition by polling: the one way tests wait for something asynchronous.
// The timeout is a safety net against a hang, not a speed claim — CI runs on a loaded
// machine, so it is generous, and nothing may assume that a fixed sleep is "enough".
export async function eventually<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 10): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
