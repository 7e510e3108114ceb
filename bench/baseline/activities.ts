/** The baseline's activity: no I/O at all. */
export async function noop(): Promise<void> {
  // nothing
}
