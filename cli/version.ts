/** natbeat's version, from its package.json (bundled into the CLI at build). */
import packageJson from '../package.json' with { type: 'json' };

export const VERSION: string = packageJson.version;
