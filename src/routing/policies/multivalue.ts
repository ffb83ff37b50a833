// Multivalue: Route 53 multivalue answers (gdnsd multifo). Up to eight healthy regions
// are answered together and the client picks; the order is a shuffle fixed per client
// subnet, so one client keeps its first choice while clients as a whole spread evenly.
// The shuffle is rendezvous hashing with equal weights; route() takes the healthy ones.

import { describe, type Policy } from '../policy.js';
import { orderByRendezvous } from './weighted.js';

export const multivaluePolicy: Policy = (candidates, ctx) => {
  const subnet = ctx.query.client.subnet;
  const order = orderByRendezvous(candidates, ctx, () => 1);
  return describe(order, ctx, (_region, { lead }) =>
    lead ? `multivalue: first healthy in the stable shuffle for client subnet ${subnet}` : `multivalue: in the stable shuffle for client subnet ${subnet}`,
  );
};
