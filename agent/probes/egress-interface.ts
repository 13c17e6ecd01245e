/** The egress interface: configured, or the device of the default route (remembered once found). */
import { defaultRouteDevices, parseIpJson } from '../ip-json';
import type { System } from '../system';

export interface EgressInterface {
  /** Undefined while there is neither a configured name nor a default route. */
  name(signal?: AbortSignal): Promise<string | undefined>;
}

export function egressInterface(system: Pick<System, 'exec'>, configured: string | undefined): EgressInterface {
  // Remembered so a lost default route is reported against the interface it used to leave by.
  let found = configured;
  return {
    async name(signal) {
      if (found) return found;
      const routes = await system.exec('ip', ['-j', '-4', 'route', 'show', 'default'], { signal });
      found = defaultRouteDevices(parseIpJson(routes.stdout))[0];
      return found;
    },
  };
}
