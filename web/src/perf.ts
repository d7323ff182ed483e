/** Marks a phase of the first load once (read by the e2e budget test). */
export function mark(name: string): void {
  if (typeof performance !== "undefined" && performance.getEntriesByName(name).length === 0) {
    performance.mark(name);
  }
}
