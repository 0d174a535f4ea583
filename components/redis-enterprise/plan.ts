// What a region's Redis Enterprise layer creates, decided from config and what the peers published:
// pure functions (no Pulumi resources), so the peer wiring reads in one place.
//
// Active-Active on Kubernetes (Redis Enterprise operator 8.2):
//  - every participating cluster needs a RedisEnterpriseRemoteCluster (RERC) for EVERY participant,
//    its own cluster included, each with a credentials Secret named redis-enterprise-<RERC name>
//    (keys username/password); RERC names must be the same in every region, so they are rerc-<region>;
//  - the RedisEnterpriseActiveActiveDatabase (REAADB) is created in ONE participating cluster (the
//    owner, config redisEnterprise.activeActiveOwner) once all RERCs exist there; the operator then
//    creates the REAADB in the other participating clusters itself;
//  - the database password Secret (globalConfigurations.databaseSecretName) must hold the same
//    password in every participating cluster: the owner generates it and publishes it (as a secret)
//    for the others.
import type * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig, Region } from "../../config";
import { publicHosts } from "../hosts";
import { NAMESPACES } from "../names";
import type { PublishedForPeers } from "../contracts";
import type { PeerRegion } from "../peers";

export const NAMESPACE = NAMESPACES.redisEnterprise;
/** The Active-Active database the shop and the core services use for cache and sessions. */
export const DATABASE = "ecommerce-cache";
/** Secret (key `password`) the database's password comes from, in every participating cluster. */
export const DATABASE_SECRET = "ecommerce-cache-password";
/** Fixed database port (also the port of the Service the operator creates for the database). */
export const DATABASE_PORT = 12000;
/** Redis Enterprise cluster REST API port (reached by peers through the ingress gateway). */
export const API_PORT = 9443;
/** Redis Enterprise metrics port (Prometheus exporter on every node). */
export const METRICS_PORT = 8070;
/** Admission webhook port of the operator pod. */
export const WEBHOOK_PORT = 8443;

export const recName = (region: Region) => `rec-${region}`;
export const rercName = (region: Region) => `rerc-${region}`;
/** The operator's naming rule for an RERC's credentials Secret. */
export const rercSecretName = (rerc: string) => `redis-enterprise-${rerc}`;

/** Labels the operator puts on Redis Enterprise node pods (they run the database endpoints). */
export function nodePodLabels(region: Region): Record<string, string> {
    return { app: "redis-enterprise", "redis.io/cluster": recName(region), "redis.io/role": "node" };
}

/** One participating cluster, as an RERC describes it. */
export interface Participant {
    region: Region;
    rerc: string;
    recName: string;
    recNamespace: string;
    apiFqdnUrl: string;
    dbFqdnSuffix: string;
    username: pulumi.Input<string>;
    /** Admin password of that cluster (keep as a Pulumi secret). */
    password: pulumi.Input<string>;
}

export type DatabaseMode =
    /** No peers configured: a regional RedisEnterpriseDatabase. */
    | "regional"
    /** This region creates the Active-Active database. */
    | "owner"
    /** Another region creates it; the operator brings the replica here. */
    | "replica";

export interface RedisPlan {
    mode: DatabaseMode;
    owner?: Region;
    /** Local cluster first, then the peers that published their cluster (sorted by region). */
    participants: Participant[];
    /** Create the database resource here (REDB when regional; REAADB when owner and every peer is linked). */
    createDatabase: boolean;
    /** Where the database password comes from: "generate" here, the owner's published one, or not known yet. */
    passwordSource: { generate: true } | { published: string } | undefined;
    /** The database is (or will be, after this update) available in this region: apps may use it. */
    databaseAvailable: boolean;
    /** Cross-region links still waiting: redis:<peer> per unlinked peer; redis-database:<owner> while the owner has not created the database. */
    pending: string[];
}

/** The local cluster as an RERC (and peers) see it. */
export function localCluster(
    cfg: PlatformConfig,
    username: pulumi.Input<string>,
    password: pulumi.Input<string>,
): Participant {
    const hosts = publicHosts(cfg);
    return {
        region: cfg.region,
        rerc: rercName(cfg.region),
        recName: recName(cfg.region),
        recNamespace: NAMESPACE,
        apiFqdnUrl: hosts.redisApi,
        dbFqdnSuffix: hosts.redisDbSuffix,
        username,
        password,
    };
}

type PublishedRedis = NonNullable<PublishedForPeers["redis"]>;

/** Decide what this region creates, from config and the peers' published data. */
export function planRedis(cfg: PlatformConfig, peers: PeerRegion[], local: Participant): RedisPlan {
    const ready = peers
        .filter(
            (p): p is PeerRegion & { published: PublishedForPeers & { redis: PublishedRedis } } => !!p.published?.redis,
        )
        .sort((a, b) => a.region.localeCompare(b.region));
    const pending = peers
        .filter((p) => !p.published?.redis)
        .map((p) => `redis:${p.region}`)
        .sort();
    const participants: Participant[] = [
        local,
        ...ready.map((p) => ({
            region: p.region,
            rerc: rercName(p.region),
            recName: p.published.redis.recName,
            recNamespace: p.published.redis.recNamespace,
            apiFqdnUrl: p.published.redis.apiFqdnUrl,
            dbFqdnSuffix: p.published.redis.dbFqdnSuffix,
            username: p.published.redis.username,
            password: p.published.redis.password,
        })),
    ];

    if (peers.length === 0) {
        return {
            mode: "regional",
            participants,
            createDatabase: true,
            passwordSource: { generate: true },
            databaseAvailable: true,
            pending: [],
        };
    }
    const owner = cfg.redisEnterprise.activeActiveOwner ?? cfg.region;
    if (owner === cfg.region) {
        const allLinked = pending.length === 0;
        return {
            mode: "owner",
            owner,
            participants,
            createDatabase: allLinked,
            passwordSource: { generate: true },
            databaseAvailable: allLinked,
            pending,
        };
    }
    const ownerRedis = ready.find((p) => p.region === owner)?.published.redis;
    const password = ownerRedis?.databasePassword;
    const created = !!ownerRedis?.activeActiveDatabase && !!password;
    return {
        mode: "replica",
        owner,
        participants,
        createDatabase: false,
        passwordSource: password ? { published: password } : undefined,
        databaseAvailable: created,
        pending: created ? pending : [...pending, `redis-database:${owner}`],
    };
}
