// Branded ids, so a region id cannot be passed where a table name is expected.

export type RegionId = string & { readonly brand: 'RegionId' };
export type TableName = string & { readonly brand: 'TableName' };
export type Jurisdiction = string & { readonly brand: 'Jurisdiction' };

export const regionId = (s: string): RegionId => s as RegionId;
export const tableName = (s: string): TableName => s as TableName;
export const jurisdiction = (s: string): Jurisdiction => s as Jurisdiction;
