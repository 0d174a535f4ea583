// What a region's Redis Enterprise layer creates, decided from config and what the peers published:
// pure functions (no Pulumi resources), so the bootstrap phases and the peer wiring read in one place.
//
// Databases (every production region, every phase):
//  - `cache`, regional (RedisEnterpriseDatabase): the shop's sessions and menu cache and the core
//    services' caches. Each consumer logs in as its own Redis ACL user whose ACL admits only its own
//    key prefix; the default user is off, so no password is shared. Caches are rebuilt from the region's
//    own sources, so they are never replicated to other regions.
//  - auth's sessions, in a database of their own: `sessions-regional` (RedisEnterpriseDatabase) from the
//    first deploy, and `sessions` (RedisEnterpriseActiveActiveDatabase) once the Active-Active database
//    exists in the region; auth then switches to it (config redisEnterprise.sessions). The regional one
//    stays, as the way back.
// Every client connection is TLS, with a server certificate signed by a CA this stack generates.
//
// Active-Active on Kubernetes (Redis Enterprise operator 8.2):
//  - every participating cluster needs a RedisEnterpriseRemoteCluster (RERC) for EVERY participant,
//    its own cluster included, each with a credentials Secret named redis-enterprise-<RERC name>
//    (keys username/password); RERC names must be the same in every region, so they are rerc-<region>.
//    The credentials are each cluster's Active-Active peering user (Admin management role: Active-Active
//    management needs it; no data access), never the cluster's own administrator;
//  - the RedisEnterpriseActiveActiveDatabase (REAADB) is created in ONE participating cluster (the
//    owner, config redisEnterprise.activeActiveOwner) once all RERCs exist there; the operator then
//    creates the REAADB in the other participating clusters itself;
//  - the database password Secret (globalConfigurations.databaseSecretName) must hold the same
//    password in every participating cluster: the owner generates it and publishes it (as a secret)
//    for the others. Only auth uses that database.
//  - peers reach the cluster API and the Active-Active database through a gateway of their own that
//    admits only the peers' addresses (./exposure.ts); the regional databases are never exposed.
import type * as pulumi from "@pulumi/pulumi";
import { type PlatformConfig, REDIS_DATABASES, type RedisDatabase, redisDatabases, type Region } from "../../config";
import type { CacheConsumer, PublishedForPeers } from "../contracts";
import { publicHosts, serviceFqdn } from "../hosts";
import { cacheKeyPrefix, NAMESPACES } from "../names";
import { type PeerRegion, peerEgressCidrs } from "../peers";

export const NAMESPACE = NAMESPACES.redisEnterprise;
/** Redis Enterprise cluster REST API port (the operator's `<rec>` Service). */
export const API_PORT = 9443;
/** Redis Enterprise metrics port (Prometheus exporter on every node). */
export const METRICS_PORT = 8070;
/** Admission webhook port of the operator pod. */
export const WEBHOOK_PORT = 8443;

/** A database of the cluster: its name (also its Service's), port and shards (config/redis-databases.ts). */
export type DatabaseRef = RedisDatabase;

/** The databases, by role: config's table, which the licence rule counts too. */
export const DATABASES = REDIS_DATABASES;

/**
 * Secret (key `license`) the program creates from the secret config key redisEnterpriseLicense: not the
 * name the region files give a Secret kept outside Pulumi, so moving from one way to the other never
 * creates a Secret that exists (the provider does not adopt objects) nor deletes the one in use.
 */
export const LICENSE_SECRET = "redis-enterprise-license-from-config";

/** Secret (key `password`) of the Active-Active database's default user, in every participating cluster. */
export const SESSIONS_SECRET = "sessions-password";
/** Secret (key `password`) of the regional sessions database's default user. */
export const REGIONAL_SESSIONS_SECRET = "sessions-regional-password";
/** The user every peer region's operator and cluster log in as (this cluster's RERC credentials). */
export const PEERING_USER = "active-active-peering";

export const recName = (region: Region) => `rec-${region}`;
export const rercName = (region: Region) => `rerc-${region}`;
/** The operator's naming rule for an RERC's credentials Secret. */
export const rercSecretName = (rerc: string) => `redis-enterprise-${rerc}`;
/** Kubernetes name of a consumer's user, ACL, role, binding and password Secret. */
export const consumerObjectName = (consumer: string) => `cache-${consumer}`;
/** The prefix every key of a consumer starts with. */
export const keyPrefixOf = cacheKeyPrefix;

/**
 * The Redis ACL rule of a cache consumer: every command but the dangerous ones (FLUSHALL, KEYS,
 * CONFIG, DEBUG, ...), on its own keys only; no Pub/Sub channels.
 */
export const consumerAcl = (consumer: string) => `+@all -@dangerous ~${keyPrefixOf(consumer)}*`;

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
    /** That cluster's Active-Active peering user. */
    username: pulumi.Input<string>;
    /** Its password (keep as a Pulumi secret). */
    password: pulumi.Input<string>;
}

export type DatabaseMode =
    /** No peers configured: regional databases only. */
    | "regional"
    /** This region creates the Active-Active database. */
    | "owner"
    /** Another region creates it; the operator brings the replica here. */
    | "replica";

export interface RedisPlan {
    mode: DatabaseMode;
    /** The databases this region runs once every link is made (what its licence must cover). */
    databases: DatabaseRef[];
    owner?: Region;
    /** Local cluster first, then the peers that published their cluster (sorted by region). */
    participants: Participant[];
    /** Create the Active-Active database here (owner, every peer linked). */
    createActiveActive: boolean;
    /** Where the Active-Active database's password comes from: generated here, the owner's, or not known yet. */
    activeActivePassword: { generate: true } | { published: string } | undefined;
    /** The Active-Active database exists (or will, after this update) in this region. */
    activeActiveAvailable: boolean;
    /** The sessions database auth uses after this update. */
    sessions: DatabaseRef;
    /** Source ranges the peer endpoints admit: config, every peer's published ones and this region's own. */
    peerSourceRanges: string[];
    /** Host names (TLS SNI) peers reach through the peer gateway; none without peers. */
    peerHosts: { api: string; database: string } | undefined;
    /**
     * Cross-region links still waiting: redis:<peer> per unlinked peer; redis-database:<owner> while the
     * owner has not created the database; redis-peer-addresses while no peer address is known.
     */
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
    const r = cfg.redisEnterprise;
    const ready = peers
        .filter(
            (p): p is PeerRegion & { published: PublishedForPeers & { redis: PublishedRedis } } => !!p.published?.redis,
        )
        .sort((a, b) => a.region.localeCompare(b.region));
    const unlinked = peers
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
    const sessionsFor = (available: boolean): DatabaseRef =>
        available && r.sessions === "active-active" ? DATABASES.sessions : DATABASES.regionalSessions;

    if (peers.length === 0) {
        return {
            mode: "regional",
            databases: redisDatabases(false),
            participants,
            createActiveActive: false,
            activeActivePassword: undefined,
            activeActiveAvailable: false,
            sessions: DATABASES.regionalSessions,
            peerSourceRanges: [],
            peerHosts: undefined,
            pending: [],
        };
    }

    // The peers' published cluster.egressCidrs, as the mesh's east-west gateway admits them; this
    // region's own (the operator checks its own cluster through its public name); config's extras.
    const peerSourceRanges = [
        ...new Set([...r.peerSourceRanges, ...cfg.cluster.egressCidrs, ...peerEgressCidrs(peers)]),
    ].sort();
    const hosts = publicHosts(cfg);
    const peerHosts = { api: hosts.redisApi, database: `${DATABASES.sessions.name}${hosts.redisDbSuffix}` };
    const noAddresses = peerSourceRanges.length === 0 ? ["redis-peer-addresses"] : [];

    const owner = r.activeActiveOwner ?? cfg.region;
    if (owner === cfg.region) {
        const allLinked = unlinked.length === 0;
        return {
            mode: "owner",
            databases: redisDatabases(true),
            owner,
            participants,
            createActiveActive: allLinked,
            activeActivePassword: { generate: true },
            activeActiveAvailable: allLinked,
            sessions: sessionsFor(allLinked),
            peerSourceRanges,
            peerHosts,
            pending: [...unlinked, ...noAddresses],
        };
    }
    const ownerRedis = ready.find((p) => p.region === owner)?.published.redis;
    const password = ownerRedis?.databasePassword;
    const created = !!ownerRedis?.activeActiveDatabase && !!password;
    return {
        mode: "replica",
        databases: redisDatabases(true),
        owner,
        participants,
        createActiveActive: false,
        activeActivePassword: password ? { published: password } : undefined,
        activeActiveAvailable: created,
        sessions: sessionsFor(created),
        peerSourceRanges,
        peerHosts,
        pending: [...unlinked, ...(created ? [] : [`redis-database:${owner}`]), ...noAddresses],
    };
}

/** What one consumer connects to: database, login, key prefix. */
export interface ConsumerAccess {
    consumer: string;
    database: DatabaseRef;
    /** ACL user (cache consumers); undefined: the sessions database's default user. */
    username?: string;
    keyPrefix?: string;
}

/** Each consumer's database and login, after this update. */
export function consumerAccess(plan: Pick<RedisPlan, "sessions">, consumers: CacheConsumer[]): ConsumerAccess[] {
    const seen = new Set<string>();
    return consumers.map((c) => {
        if (seen.has(c.name)) throw new Error(`cache consumer ${c.name} is named twice`);
        seen.add(c.name);
        return c.store === "sessions"
            ? { consumer: c.name, database: plan.sessions }
            : {
                  consumer: c.name,
                  database: DATABASES.cache,
                  username: c.name,
                  keyPrefix: keyPrefixOf(c.name),
              };
    });
}

/** In-cluster host of a database (the Service the operator creates for it). */
export const databaseHost = (db: DatabaseRef) => serviceFqdn(db.name, NAMESPACE);

/**
 * DNS names of the server certificate the databases present: their in-cluster Services, and the
 * Active-Active database's name as peers reach it.
 */
export function serverCertificateNames(cfg: PlatformConfig): string[] {
    const suffix = publicHosts(cfg).redisDbSuffix;
    return [`*.${NAMESPACE}.svc.cluster.local`, `*.${NAMESPACE}.svc`, `*${suffix}`];
}

/**
 * Names external-dns must leave out of public DNS (each with its subdomains): the cluster API and the
 * databases, unless config publishes them.
 */
export function privateDnsNames(cfg: PlatformConfig): string[] {
    if (cfg.redisEnterprise.publicDns) return [];
    const hosts = publicHosts(cfg);
    return [hosts.redisApi, hosts.redisDbSuffix.replace(/^\./, "")];
}
