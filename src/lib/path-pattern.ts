/** A path pattern as config files write them: `*` matches within one path segment, `**`
 *  across segments, everything else is literal. `/static/**` matches all below /static/. */
export function pathPattern(match: string): RegExp {
  const body = match
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((lit) => lit.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  return new RegExp(`^${body}$`);
}
