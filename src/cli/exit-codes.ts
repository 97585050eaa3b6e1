/**
 * Exit codes of the `sightline` command (documented in the README). A second signal during shutdown
 * exits with 130 (src/runtime/shutdown.ts).
 */
export const EXIT_OK = 0;
/** A runtime failure (a server could not start, shutdown missed its deadline). */
export const EXIT_FAILURE = 1;
/** Bad usage or an invalid config: nothing was started. */
export const EXIT_USAGE = 2;
