/** Entry point of the `sightline` command: runs the dispatch (dispatch.ts) and exits with its code. */
import { main } from './dispatch.js';

process.exitCode = await main(process.argv.slice(2));
