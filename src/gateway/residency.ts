// Data residency at the edge: a response another region served holds that region's data,
// and where its jurisdiction keeps data at home (`data.residency: { eu: strict }`), a
// region in another jurisdiction serves it but does not keep a copy in its cache. PURE.

export interface RegionJurisdiction {
  readonly id: string;
  readonly jurisdiction: string;
}

/** The regions whose responses `self` may not store: strict jurisdictions other than its own. */
export function noStoreFrom(self: string, regions: readonly RegionJurisdiction[], residency: Readonly<Record<string, 'strict' | 'none'>>): string[] {
  const mine = regions.find((r) => r.id === self)?.jurisdiction;
  return regions.filter((r) => r.id !== self && r.jurisdiction !== mine && residency[r.jurisdiction] === 'strict').map((r) => r.id);
}
