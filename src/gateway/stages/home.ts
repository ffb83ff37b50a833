// Home-region forwarding: a request that names its data's home (header, cookie, path
// rule) is served there, over the mesh, when the home is another healthy region.

import type { RegionId } from '../../lib/index.js';
import type { MeshClient } from '../../mesh/index.js';
import { dispatchToRegion } from '../dispatch.js';
import { errorReply } from '../errors.js';
import { DispatchError, type Exchange, type Next, type Reply, type Stage } from '../exchange.js';
import { homeOf, type CompiledHomeRules, type HomeOfRequest } from '../home.js';

export interface HomeStageOptions {
  readonly self: RegionId;
  readonly rules: CompiledHomeRules;
  readonly regions: ReadonlySet<string>;
  readonly isUp: (region: RegionId) => boolean;
  readonly mesh: MeshClient;
  readonly timeoutMs: number;
}

export function homeStage(o: HomeStageOptions): Stage {
  // Not async: a request with no home elsewhere goes on without a promise of this stage's own.
  return (x: Exchange, next: Next): Promise<Reply> => {
    if (x.forwardedFrom !== undefined || x.replayedFrom !== undefined) return next(x);
    const home = homeOf(o.rules, x.path, x.headers);
    if (home === null) return next(x);
    return toHome(o, x, next, home);
  };
}

async function toHome(o: HomeStageOptions, x: Exchange, next: Next, home: HomeOfRequest): Promise<Reply> {
  if (!o.regions.has(home.region)) {
    return errorReply(400, 'unknown_home_region', `the request names home region ${JSON.stringify(home.region)} (by ${home.source}), which is not in this deployment`, o.self);
  }
  const region = home.region as RegionId;
  const note = (s: string): void => void x.notes.push(s);
  if (region === o.self) {
    note(`home ${region} (by ${home.source}) is here`);
    return next(x);
  }
  if (!o.isUp(region)) {
    note(`home ${region} (by ${home.source}) is down`);
    return next(x);
  }
  try {
    return await dispatchToRegion(o.mesh, o.self, region, x, `home: data homed in ${region} (by ${home.source})`, o.timeoutMs, 'forward');
  } catch (e) {
    if (e instanceof DispatchError && !e.reached) {
      note(`home ${region} unreachable (${e.code})`);
      return next(x);
    }
    throw e;
  }
}
