// The Redis Enterprise databases a region runs and the shards each takes. It is sizing, like
// ./sizing.ts: components/redis-enterprise builds its databases from this table (plan.ts says which
// exist, specs.ts sets their shards), and the licence rule (./rules.ts) counts the same shards against
// what the trial licence allows.

/** A database of the Redis Enterprise cluster. */
export interface RedisDatabase {
    /** RedisEnterpriseDatabase / RedisEnterpriseActiveActiveDatabase name; also its Service's name. */
    name: string;
    /** Fixed database port, unique in the cluster (the same in every region for the Active-Active one). */
    port: number;
    /** Primary shards. */
    shardCount: number;
    /** A replica of every shard on another node (it counts against the licence like a primary). */
    replication: boolean;
    /** Exists only in a region with peers (an Active-Active database). */
    activeActive: boolean;
}

/** The databases, by role. */
export const REDIS_DATABASES = {
    /** Regional cache of the shop and the core services (one ACL user per consumer). */
    cache: { name: "cache", port: 12000, shardCount: 1, replication: true, activeActive: false },
    /** auth's sessions until the Active-Active database exists here (then kept as the way back). */
    regionalSessions: { name: "sessions-regional", port: 12001, shardCount: 1, replication: true, activeActive: false },
    /** auth's sessions, Active-Active across the regions. */
    sessions: { name: "sessions", port: 12002, shardCount: 1, replication: true, activeActive: true },
} as const satisfies Record<string, RedisDatabase>;

/** What a cluster without a licence runs on (Redis Enterprise's trial): 30 days, 4 shards. */
export const TRIAL_LICENCE = { days: 30, shards: 4 } as const;

/** The databases a region runs once every link is made: the Active-Active one only with peers. */
export function redisDatabases(hasPeers: boolean): RedisDatabase[] {
    return Object.values(REDIS_DATABASES).filter((db) => hasPeers || !db.activeActive);
}

/** Shards a database takes from the licence: its primaries, and as many replicas when replicated. */
export const shardsOf = (db: RedisDatabase) => db.shardCount * (db.replication ? 2 : 1);

/** Shards the databases take together. */
export const totalShards = (dbs: readonly RedisDatabase[]) => dbs.reduce((n, db) => n + shardsOf(db), 0);
