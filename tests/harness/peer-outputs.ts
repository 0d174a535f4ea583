// What peer region stacks publish (stack output `publishedForPeers`), as the harness's mocked stack
// references return it. One definition, so test files asking for the same peers share one evaluation.

export type PeerRegionName = "us" | "eu" | "asia";

export const stackOf = (region: PeerRegionName) => `acme/ecommerce-platform/${region}`;

/** A region's example egress address (TEST-NET ranges), as its stack file publishes it. */
export const EGRESS: Record<PeerRegionName, string> = {
    us: "203.0.113.10/32",
    eu: "198.51.100.10/32",
    asia: "192.0.2.10/32",
};

/** The Redis Enterprise section a deployed peer publishes (its peering user, never its administrator). */
export function publishedRedis(region: PeerRegionName, extra: Record<string, unknown> = {}) {
    return {
        publishedForPeers: {
            region,
            redis: {
                recName: `rec-${region}`,
                recNamespace: "redis-enterprise",
                apiFqdnUrl: `redis-api.${region}.shop.example.com`,
                dbFqdnSuffix: `.redis-db.${region}.shop.example.com`,
                username: `active-active-peering@${region}.shop.example.com`,
                password: `peer-peering-password-${region}`,
                sourceRanges: [EGRESS[region]],
                ...extra,
            },
        },
    };
}

/** us's peers, both deployed (us, the owner, then creates the Active-Active database). */
export const ALL_PEERS_OF_US = {
    [stackOf("eu")]: publishedRedis("eu"),
    [stackOf("asia")]: publishedRedis("asia"),
};

/** us after it created the Active-Active database: its password and the database's name are published. */
export const US_CREATED_DATABASE = publishedRedis("us", {
    databasePassword: "owner-sessions-password",
    activeActiveDatabase: "sessions",
});
