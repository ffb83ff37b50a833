// A small valid topology to mutate in tests, as an object that YAML can write.
import { stringify } from 'yaml';

export function baseTopology(): Record<string, unknown> {
  return {
    service: { name: 'shop', zone: 'shop.example.test', hosts: ['www', 'api'] },
    regions: [
      { id: 'us-east-1', jurisdiction: 'us', public: '127.0.1.1', mesh: '127.0.1.1:7070', app: 'http://127.0.1.1:9000' },
      { id: 'eu-west-1', jurisdiction: 'eu', public: '127.0.2.1', mesh: '127.0.2.1:7070', app: 'http://127.0.2.1:9000' },
      { id: 'eu-central-1', jurisdiction: 'eu', public: '127.0.3.1', mesh: '127.0.3.1:7070', app: 'http://127.0.3.1:9000' },
    ],
    deployment: { model: 'active-active', primary: 'us-east-1' },
    data: {
      residency: { eu: 'strict' },
      tables: { accounts: { locality: 'home', survive: 'region' } },
    },
  };
}

export const yaml = (o: unknown): string => stringify(o);
