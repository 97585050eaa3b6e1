/** Types of bin/healthcheck.js (plain JS so the image runs it without a build step). */
export declare const DEFAULT_LISTEN: string;
/** The URL of /livez for a config file's text; throws when http.listen has no fixed port. */
export declare function livezUrl(configText: string): string;
