// Redis Enterprise (issue 4 §3; issue 12 §4; issue 14 §2-4): what `pulumi up` creates for the
// operator, the cluster, the regional and Active-Active databases, the per-consumer logins, the peers'
// links and the gateway that admits only the peers; how a region moves through its bootstrap phases
// (tested on planRedis, which decides them); and a check per security finding, each shown to fail on
// a copy of the objects with the finding put back.
import * as assert from "node:assert/strict";
import { bootstrap, prefetchBootstrap, TEST_LICENCE } from "./harness/bootstrap";
import { deployedStack, prefetch } from "./harness/evaluate";
import { helmReleases, kubernetesObjects, named, ofKind, type K8sObject, unsecret } from "./harness/k8s";
import { ALL_PEERS_OF_US, EGRESS, publishedRedis, stackOf, US_CREATED_DATABASE } from "./harness/peer-outputs";
import { configOf, ROOT, stackConfig } from "./harness/stack-config";
import { eastWestSources } from "../components/mesh/multicluster";
import { totalShards, TRIAL_LICENCE } from "../config";
import type { RecordedResource, StackEvaluation } from "./harness/types";
import { redisEnterpriseSchemaProblems } from "./schemas/redis-enterprise";
import { evaluate, toPolicyResource } from "../policy/rules";
import { externalDnsValues } from "../components/addons/charts";
import type { CacheConsumer } from "../components/contracts";
import type { PeerRegion } from "../components/peers";
import {
    consumerAccess,
    consumerAcl,
    DATABASES,
    LICENSE_SECRET,
    localCluster,
    planRedis,
    privateDnsNames,
} from "../components/redis-enterprise/plan";
import {
    PEER_GATEWAY,
    peerAuthorizationSpec,
    peerGatewayValues,
    publicGatewayDenySpec,
} from "../components/redis-enterprise/exposure";

const NS = "redis-enterprise";
const PEERS_NS = "redis-enterprise-peers";
const GROUP = "app.redislabs.com/";
const KINDS = {
    rec: "RedisEnterpriseCluster",
    rerc: "RedisEnterpriseRemoteCluster",
    reaadb: "RedisEnterpriseActiveActiveDatabase",
    redb: "RedisEnterpriseDatabase",
    user: "RedisEnterpriseUser",
    acl: "RedisEnterpriseACL",
    role: "RedisEnterpriseRole",
    binding: "RedisEnterpriseRoleBinding",
};
/** Who uses a cache in a region stack, and the namespace its login is copied to. */
const CACHE_USERS: Record<string, string> = {
    "warung-kopi": "warung-kopi",
    "product-catalog": "ecommerce",
    payment: "ecommerce",
    recommendation: "ecommerce",
};
const SESSIONS_USER = "auth";

// Full-stack evaluations: the region as its first deploys see it (no peer deployed yet, shared with
// the other test files), us once both peers published (us owns the Active-Active database), eu once
// us created it, and dev. Every other phase is tested on planRedis.
const US_LINKED = { stack: "us", stackOutputs: ALL_PEERS_OF_US };
const EU_REPLICA = {
    stack: "eu",
    stackOutputs: { [stackOf("us")]: US_CREATED_DATABASE, [stackOf("asia")]: publishedRedis("asia") },
};
prefetch({ stack: "us" }, US_LINKED, EU_REPLICA, { stack: "eu" }, { stack: "asia" }, { stack: "dev" });
prefetchBootstrap();

/** A key of a shipped stack file, as written there. */
const fileKey = (stack: string, key: string): Record<string, unknown> =>
    JSON.parse(stackConfig(ROOT, stack).config[`ecommerce-platform:${key}`] ?? "{}");

/** A peer that published its Redis Enterprise cluster. */
const peerOf = (region: "us" | "eu" | "asia"): PeerRegion => ({
    region,
    stack: stackOf(region),
    published: publishedRedis(region).publishedForPeers,
});

type Obj = K8sObject & { $resource: RecordedResource };
const objectsOf = (r: StackEvaluation) => kubernetesObjects(r.resources) as Obj[];
const redisObjects = (r: StackEvaluation) => objectsOf(r).filter((o) => o.apiVersion.startsWith(GROUP));
const operatorRelease = (r: StackEvaluation) =>
    helmReleases(r.resources).find((h) => h.inputs.chart === "redis-enterprise-operator");
const peerGatewayRelease = (r: StackEvaluation) =>
    helmReleases(r.resources).find((h) => h.inputs.name === PEER_GATEWAY.name);
const redisPending = (r: StackEvaluation) =>
    (r.outputs.crossRegionPending as string[]).filter((p) => p.startsWith("redis"));
const published = (r: StackEvaluation) => {
    const p = (r.outputs as any).publishedForPeers;
    return unsecret(p).redis;
};
const secretData = (o: Obj): Record<string, string> => ({ ...(o.stringData ?? {}) });
const envOf = (objects: Obj[], kind: string, name: string, ns: string): Record<string, any> =>
    Object.fromEntries(
        (named(objects, kind, name, ns).spec.template.spec.containers[0].env ?? []).map((e: any) => [e.name, e]),
    );

/** Every URN a resource depends on, directly or through other resources' dependencies. */
function transitiveDependencies(all: RecordedResource[], r: RecordedResource): Set<string> {
    const byUrn = new Map(all.map((x) => [x.urn, x]));
    const seen = new Set<string>();
    const stack = [...r.dependencies];
    while (stack.length) {
        const urn = stack.pop()!;
        if (seen.has(urn)) continue;
        seen.add(urn);
        stack.push(...(byUrn.get(urn)?.dependencies ?? []));
    }
    return seen;
}

const isSecretMarked = (v: unknown) => typeof v === "object" && v !== null && "$secret" in v;
/** Whether the value at `path` (or a value containing it) was recorded as a Pulumi secret. */
function isSecretAt(v: any, path: string[]): boolean {
    if (isSecretMarked(v)) return true;
    if (path.length === 0 || v === null || typeof v !== "object") return false;
    return isSecretAt(v[path[0]], path.slice(1));
}

// ---------------------------------------------------------------------------------------------
// The checks, one per finding, as functions over a stack's objects (so each runs on a damaged copy too)

/**
 * Finding "one cache password serves the shop, the four core services and every region; auth keeps
 * sessions there": every consumer logs in with its own credential; cache consumers are Redis ACL users
 * confined to their own key prefix on the cache database, which has no default user; auth's sessions
 * are in a database no other consumer may use.
 */
function sharedCacheCredentialProblems(objects: Obj[]): string[] {
    const problems: string[] = [];
    const login = (name: string, ns: string) => {
        const secretName = ns === "warung-kopi" ? "redis-credentials" : `${name}-cache`;
        const s = objects.find(
            (o) => o.kind === "Secret" && o.metadata.name === secretName && o.metadata.namespace === ns,
        );
        if (!s) problems.push(`${name}: no login Secret ${ns}/${secretName}`);
        return s ? secretData(s) : {};
    };
    const passwords = new Map<string, string>();
    for (const [name, ns] of [...Object.entries(CACHE_USERS), [SESSIONS_USER, "ecommerce"]]) {
        const l = login(name, ns);
        const other = [...passwords].find(([, p]) => p === l.password);
        if (other) problems.push(`${name} shares its cache password with ${other[0]}`);
        passwords.set(name, l.password);
    }
    const cacheDb = objects.find((o) => o.kind === KINDS.redb && o.metadata.name === DATABASES.cache.name);
    if (!cacheDb || cacheDb.spec.defaultUser !== false)
        problems.push("the cache database admits its default user (a password every consumer could share)");
    for (const name of Object.keys(CACHE_USERS)) {
        const user = objects.find((o) => o.kind === KINDS.user && o.spec.username === name);
        if (!user) {
            problems.push(`${name}: no Redis ACL user`);
            continue;
        }
        const secret = objects.find(
            (o) =>
                o.kind === "Secret" &&
                o.metadata.namespace === NS &&
                o.metadata.name === user.spec.passwordSecrets[0].name,
        );
        if (secretData(secret ?? ({} as Obj)).password !== passwords.get(name))
            problems.push(`${name}: its pods' password is not its own user's`);
        const binding = objects.find(
            (o) => o.kind === KINDS.binding && o.spec.subjects.some((s: any) => s.name === user.metadata.name),
        );
        const role = objects.find((o) => o.kind === KINDS.role && o.metadata.name === binding?.spec.roleRef.name);
        const acl = objects.find((o) => o.kind === KINDS.acl && o.metadata.name === role?.spec.acl?.name);
        if (!role || JSON.stringify(role.spec.scopes) !== JSON.stringify([{ kind: KINDS.redb, name: "cache" }]))
            problems.push(`${name}: its role is not scoped to the cache database alone`);
        if ((role?.spec.managementRole ?? "None") !== "None") problems.push(`${name}: its role manages databases`);
        const keys = (acl?.spec.acl ?? "").split(/\s+/).filter((t: string) => t.startsWith("~"));
        if (keys.length !== 1 || keys[0] !== `~${name}:*`)
            problems.push(`${name}: its ACL admits keys ${keys.join(" ")}`);
        if (!/-@dangerous/.test(acl?.spec.acl ?? "")) problems.push(`${name}: its ACL allows dangerous commands`);
    }
    const auth = objects.find((o) => o.kind === "Deployment" && o.metadata.name === SESSIONS_USER);
    const authHost = auth?.spec.template.spec.containers[0].env.find((e: any) => e.name === "CACHE_HOST")?.value;
    if (!authHost || authHost.startsWith(`${DATABASES.cache.name}.`))
        problems.push(`auth keeps its sessions in ${authHost ?? "nothing"}, not a sessions database of its own`);
    const clients = objects.find(
        (o) =>
            o.kind === "NetworkPolicy" && o.metadata.namespace === NS && o.metadata.name === "allow-database-clients",
    );
    for (const rule of clients?.spec.ingress ?? []) {
        const who = JSON.stringify(rule.from);
        const ports = rule.ports.map((p: any) => p.port).sort();
        const isAuth = who.includes(`"${SESSIONS_USER}"`);
        const expected = isAuth ? [DATABASES.regionalSessions.port, DATABASES.sessions.port] : [DATABASES.cache.port];
        if (JSON.stringify(ports) !== JSON.stringify(expected)) problems.push(`${who} may reach ports ${ports}`);
    }
    return problems;
}

/** Finding "clients reach the Redis Enterprise database in plain text". */
function plainTextCacheProblems(objects: Obj[]): string[] {
    const problems: string[] = [];
    for (const db of objects.filter((o) => o.kind === KINDS.redb || o.kind === KINDS.reaadb)) {
        const tlsMode = db.kind === KINDS.redb ? db.spec.tlsMode : db.spec.globalConfigurations?.tlsMode;
        if (tlsMode !== "enabled") problems.push(`${db.kind} ${db.metadata.name}: tlsMode ${tlsMode}`);
    }
    const rec = objects.find((o) => o.kind === KINDS.rec)!;
    const certSecret = objects.find(
        (o) => o.kind === "Secret" && o.metadata.name === rec.spec.certificates?.proxyCertificateSecretName,
    );
    const ca = certSecret ? secretData(certSecret)["ca.crt"] : undefined;
    if (!ca || !certSecret?.stringData?.["tls.crt"]) problems.push("the databases present no certificate of ours");
    // Each consumer: TLS on, the CA mounted where its CA file variable points, the CA that signs the server.
    const consumers: [string, string, "CACHE" | "REDIS"][] = [
        ["backend", "warung-kopi", "REDIS"],
        ["worker", "warung-kopi", "REDIS"],
        ...[...Object.keys(CACHE_USERS).filter((n) => n !== "warung-kopi"), SESSIONS_USER].map(
            (n) => [n, "ecommerce", "CACHE"] as [string, string, "CACHE"],
        ),
    ];
    for (const [name, ns, prefix] of consumers) {
        const d = objects.find(
            (o) => o.kind === "Deployment" && o.metadata.name === name && o.metadata.namespace === ns,
        );
        if (!d) continue;
        const spec = d.spec.template.spec;
        const c = spec.containers[0];
        const config = (c.envFrom ?? []).flatMap((f: any) => {
            const cm = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === f.configMapRef?.name);
            return Object.entries(cm?.data ?? {}).map(([k, v]) => ({ name: k, value: v }));
        });
        const env = Object.fromEntries([...config, ...(c.env ?? [])].map((e: any) => [e.name, e.value]));
        if (env[`${prefix}_TLS`] !== "true") problems.push(`${ns}/${name}: ${prefix}_TLS is ${env[`${prefix}_TLS`]}`);
        const file: string | undefined = env[`${prefix}_CA_FILE`];
        const mount = (c.volumeMounts ?? []).find((m: any) => file?.startsWith(`${m.mountPath}/`));
        const volume = spec.volumes.find((v: any) => v.name === mount?.name);
        const cm = objects.find(
            (o) => o.kind === "ConfigMap" && o.metadata.namespace === ns && o.metadata.name === volume?.configMap?.name,
        );
        if (!cm || cm.data[file!.slice(mount.mountPath.length + 1)] !== ca)
            problems.push(`${ns}/${name}: no CA of the cache's server at ${file}`);
    }
    return problems;
}

/**
 * Finding "the admin API and the database names are public through the ingress gateway and public
 * DNS": the public ingress gateway refuses the names, the cluster admits only the peer gateway, which
 * admits only the peers' addresses (load balancer, NetworkPolicy, AuthorizationPolicy) and routes only
 * the API and the Active-Active database; external-dns keeps the names out of the zone.
 */
function exposureProblems(r: StackEvaluation, peerRanges: string[]): string[] {
    const objects = objectsOf(r);
    const problems: string[] = [];
    const cfg = configOf(r.stack);
    const api = `redis-api.${cfg.domain}`;
    const deny = objects.find(
        (o) => o.kind === "AuthorizationPolicy" && o.metadata.namespace === "istio-ingress" && o.spec.action === "DENY",
    );
    const denied = deny?.spec.rules?.flatMap((x: any) => x.when ?? []).find((w: any) => w.key === "connection.sni");
    if (!denied?.values.includes(api) || !denied.values.includes(`*.redis-db.${cfg.domain}`))
        problems.push("the public ingress gateway does not refuse the cluster's names");
    for (const p of ofKind(objects, "NetworkPolicy", NS))
        for (const rule of p.spec.ingress ?? [])
            for (const peer of rule.from ?? []) {
                const ns = peer.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"];
                if (["istio-ingress", "istio-system"].includes(ns)) problems.push(`${p.metadata.name} admits ${ns}`);
                if (peer.ipBlock && rule.ports?.map((x: any) => `${x.protocol}/${x.port}`).join() !== "TCP/8443")
                    problems.push(`${p.metadata.name} admits ${peer.ipBlock.cidr} beyond the webhook`);
            }
    const release = peerGatewayRelease(r);
    const service = release?.inputs.values.service;
    if (!release) problems.push("no peer gateway");
    else if (peerRanges.length === 0 ? service.type !== "ClusterIP" : service.type !== "LoadBalancer")
        problems.push(`peer gateway Service ${service.type} with ${peerRanges.length} peer ranges`);
    else if (peerRanges.length > 0) {
        if (JSON.stringify(service.loadBalancerSourceRanges) !== JSON.stringify(peerRanges))
            problems.push(`load balancer admits ${service.loadBalancerSourceRanges}`);
        if (service.externalTrafficPolicy !== "Local") problems.push("client addresses not kept");
    }
    const policy = objects.find(
        (o) => o.kind === "NetworkPolicy" && o.metadata.namespace === PEERS_NS && o.metadata.name === "allow-peers",
    );
    // On the TLS port: the peers' addresses, nothing else (Prometheus scrapes the Envoy stats port).
    const onTls = (policy?.spec.ingress ?? []).filter((x: any) =>
        x.ports.some((p: any) => p.port === PEER_GATEWAY.port),
    );
    const admitted = onTls.flatMap((x: any) => x.from.map((f: any) => f.ipBlock?.cidr ?? "a pod"));
    if (JSON.stringify(admitted) !== JSON.stringify(peerRanges)) problems.push(`peer gateway pods admit ${admitted}`);
    const authz = objects.find((o) => o.kind === "AuthorizationPolicy" && o.metadata.namespace === PEERS_NS);
    const allowedIps = (authz?.spec.rules ?? []).flatMap((x: any) => x.from.flatMap((f: any) => f.source.ipBlocks));
    if (authz?.spec.action !== "ALLOW" || JSON.stringify(allowedIps) !== JSON.stringify(peerRanges))
        problems.push(`the gateway authorizes ${allowedIps}`);
    const gateway = objects.find((o) => o.kind === "Gateway" && o.metadata.namespace === PEERS_NS);
    const hosts = (gateway?.spec.servers ?? []).flatMap((s: any) => s.hosts);
    if (JSON.stringify(hosts) !== JSON.stringify([api, `sessions.redis-db.${cfg.domain}`]))
        problems.push(`the peer gateway serves ${hosts}`);
    const dns = helmReleases(r.resources).find((h) => h.inputs.chart === "external-dns");
    const args: string[] = dns?.inputs.values.extraArgs ?? [];
    for (const name of [api, `redis-db.${cfg.domain}`])
        if (!args.includes(`--exclude-domains=${name}`)) problems.push(`external-dns may publish ${name}`);
    return problems;
}

/**
 * Finding "every region holds every region's admin password": peers get the peering user, never the
 * cluster administrator, and this region's RERC Secrets hold the peers' peering users.
 */
function peerCredentialProblems(r: StackEvaluation): string[] {
    const objects = objectsOf(r);
    const problems: string[] = [];
    const admin = secretData(named(objects, "Secret", `rec-${r.stack}`, NS));
    const pub = published(r);
    const text = JSON.stringify(pub ?? {});
    if (text.includes(admin.password)) problems.push("the administrator's password is published for the peers");
    if (pub && pub.username === admin.username) problems.push("peers get the administrator's user name");
    for (const rerc of ofKind(objects, KINDS.rerc, NS)) {
        const s = secretData(named(objects, "Secret", rerc.spec.secretName, NS));
        if (s.password === admin.password) problems.push(`${rerc.metadata.name} logs in as the administrator`);
        if (!s.username?.startsWith("active-active-peering@"))
            problems.push(`${rerc.metadata.name} logs in as ${s.username}`);
    }
    const role = objects.find(
        (o) => o.kind === "RedisEnterpriseClusterRole" && o.metadata.name === "active-active-peering",
    );
    if (!role || role.spec.acl) problems.push("the peering role grants data access");
    return problems;
}

/** A deep copy of a stack's objects, for damaging. */
const copyOf = (objects: Obj[]): Obj[] =>
    objects.map((o) => ({ ...JSON.parse(JSON.stringify(o)), $resource: o.$resource }));

// ---------------------------------------------------------------------------------------------

describe("Redis Enterprise", function () {
    this.timeout(240_000);

    describe("in a region's first deploys (us, no peer deployed yet)", () => {
        let us: StackEvaluation;
        let objects: Obj[];
        before(async () => {
            us = await deployedStack("us");
            objects = objectsOf(us);
        });

        it("installs the operator from the official repository at the pinned chart version, as a Helm release with a timeout", () => {
            const release = operatorRelease(us);
            assert.ok(release, "a redis-enterprise-operator release");
            assert.equal(release.type, "kubernetes:helm.sh/v3:Release", "the CRDs come from a hook Job");
            assert.equal(release.inputs.version, "8.2.0-12");
            assert.equal(release.inputs.repositoryOpts.repo, "https://helm.redis.io/");
            assert.equal(release.inputs.name, "redis-enterprise-operator");
            assert.equal(release.inputs.namespace, NS);
            assert.equal(release.inputs.createNamespace, false);
            assert.ok(release.inputs.timeout >= 300, `timeout ${release.inputs.timeout}s`);
            assert.equal(release.inputs.skipAwait ?? false, false, "the release waits for the operator's webhook");
            assert.equal(release.inputs.values.cluster.create, false, "the cluster is ours, not the chart's");
            const egress = named(objects, "NetworkPolicy", "allow-https-egress", NS);
            assert.ok(release.dependencies.includes(egress.$resource.urn), "the CRD hook Job can reach the API server");
        });

        it("serves the shop's and the core services' caches from Redis Enterprise already: the regional cache database and auth's regional sessions database", () => {
            const dbs = ofKind(redisObjects(us), KINDS.redb).map((o) => `${o.metadata.name}:${o.spec.databasePort}`);
            assert.deepEqual(dbs.sort(), ["cache:12000", "sessions-regional:12001"]);
            assert.equal(
                ofKind(redisObjects(us), KINDS.reaadb).length,
                0,
                "no Active-Active database before the peers",
            );
            assert.deepEqual(redisPending(us).sort(), ["redis:asia", "redis:eu"]);
            const config = named(objects, "ConfigMap", "warung-kopi-config", "warung-kopi").data;
            assert.equal(config.REDIS_HOST, "cache.redis-enterprise.svc.cluster.local");
            assert.equal(config.REDIS_PORT, "12000");
            assert.equal(
                envOf(objects, "Deployment", "auth", "ecommerce").CACHE_HOST.value,
                "sessions-regional.redis-enterprise.svc.cluster.local",
            );
            assert.equal(
                envOf(objects, "Deployment", "payment", "ecommerce").CACHE_HOST.value,
                "cache.redis-enterprise.svc.cluster.local",
            );
            assert.equal(
                (us.outputs as any).endpoints.redisEnterpriseSessions,
                "sessions-regional.redis-enterprise.svc.cluster.local:12001",
            );
        });

        it("emits custom resources that are valid against the operator's CRD fields", async () => {
            for (const r of [
                us,
                await deployedStack(US_LINKED.stack, US_LINKED),
                await deployedStack(EU_REPLICA.stack, EU_REPLICA),
            ]) {
                const problems = redisObjects(r).flatMap((o) =>
                    (redisEnterpriseSchemaProblems(o) ?? ["not app.redislabs.com"]).map(
                        (p) => `${r.stack} ${o.kind} ${o.metadata.name}: ${p}`,
                    ),
                );
                assert.deepEqual(problems, []);
            }
        });

        it("configures the cluster from config: nodes, resources, storage, our server certificate, and the names Active-Active needs", () => {
            const rec = named(redisObjects(us), KINDS.rec, "rec-us", NS);
            assert.equal(rec.spec.nodes, 3);
            assert.deepEqual(rec.spec.redisEnterpriseNodeResources.requests, { cpu: "2", memory: "4Gi" });
            assert.deepEqual(rec.spec.persistentSpec, {
                enabled: true,
                volumeSize: "20Gi",
                storageClassName: "platform-standard",
            });
            assert.deepEqual(rec.spec.ingressOrRouteSpec, {
                method: "istio",
                apiFqdnUrl: "redis-api.us.shop.example.com",
                dbFqdnSuffix: ".redis-db.us.shop.example.com",
                ingressAnnotations: { "external-dns.alpha.kubernetes.io/controller": "none" },
            });
            assert.deepEqual(rec.spec.certificates, {
                proxyCertificateSecretName: "redis-enterprise-server-tls",
                metricsExporterCertificateSecretName: "redis-enterprise-server-tls",
            });
            assert.equal(rec.spec.securityContext.resourceLimits.allowAutoAdjustment, false, "no SYS_RESOURCE");
            assert.equal(rec.metadata.annotations?.["pulumi.com/waitFor"], "jsonpath={.status.state}=Running");
            const tls = named(objects, "Secret", "redis-enterprise-server-tls", NS);
            assert.equal(tls.type, "kubernetes.io/tls");
            assert.deepEqual(Object.keys(tls.stringData).sort(), ["ca.crt", "tls.crt", "tls.key"]);
            // The certificate names every in-cluster database host and the Active-Active database's public name.
            const csr = us.resources.find((x) => x.type === "tls:index/certRequest:CertRequest")!;
            assert.deepEqual(csr.inputs.dnsNames, [
                "*.redis-enterprise.svc.cluster.local",
                "*.redis-enterprise.svc",
                "*.redis-db.us.shop.example.com",
            ]);
        });

        it("orders every custom resource after the operator; the REC after its credentials and certificate; logins after their passwords; the apps after their database and login", () => {
            const all = us.resources;
            const release = operatorRelease(us)!;
            const deps = (o: Obj) => transitiveDependencies(all, o.$resource);
            for (const o of redisObjects(us))
                assert.ok(deps(o).has(release.urn), `${o.kind} ${o.metadata.name} depends on the operator release`);
            const rec = named(objects, KINDS.rec, "rec-us");
            for (const s of ["rec-us", "redis-enterprise-server-tls"])
                assert.ok(deps(rec).has(named(objects, "Secret", s, NS).$resource.urn), `REC after ${s}`);
            for (const user of ofKind(objects, KINDS.user, NS)) {
                const secret = named(objects, "Secret", user.spec.passwordSecrets[0].name, NS);
                assert.ok(deps(user).has(secret.$resource.urn), `${user.metadata.name} after its password`);
                assert.ok(deps(user).has(rec.$resource.urn), `${user.metadata.name} after the REC`);
            }
            const rerc = named(objects, KINDS.rerc, "rerc-us");
            assert.ok(
                deps(rerc).has(named(objects, KINDS.user, "active-active-peering").$resource.urn),
                "own RERC after the peering user",
            );
            // The shop's configuration and the core services' pods name a database only once it and their login exist.
            const cache = named(objects, KINDS.redb, "cache");
            const shopConfig = named(objects, "ConfigMap", "warung-kopi-config", "warung-kopi");
            assert.ok(deps(shopConfig).has(cache.$resource.urn), "the shop's config after the cache database");
            assert.ok(deps(shopConfig).has(named(objects, KINDS.user, "cache-warung-kopi").$resource.urn));
            const auth = named(objects, "Deployment", "auth", "ecommerce");
            assert.ok(deps(auth).has(named(objects, KINDS.redb, "sessions-regional").$resource.urn));
        });

        it("protects the cluster and every database from deletion, with explicit timeouts for long installs", () => {
            for (const o of [named(objects, KINDS.rec, "rec-us"), ...ofKind(objects, KINDS.redb)]) {
                const r = o.$resource;
                assert.ok(
                    r.customTimeouts?.create && parseInt(r.customTimeouts.create) >= 20,
                    `${r.name} create timeout`,
                );
                assert.equal(r.protect, true, `${r.name} protected in production`);
            }
            for (const db of ofKind(objects, KINDS.redb))
                assert.equal(db.metadata.annotations?.["pulumi.com/waitFor"], "jsonpath={.status.status}=active");
        });

        it("keeps credentials in Secrets only: Pulumi secrets everywhere, nothing credential-like in Helm values, ConfigMaps or custom resources", () => {
            const secrets = ofKind(objects, "Secret", NS);
            assert.ok(secrets.length >= 8);
            for (const s of secrets)
                for (const k of Object.keys(s.stringData ?? {}))
                    assert.ok(
                        isSecretAt(s.$resource.inputs, ["stringData", k]),
                        `${s.metadata.name}.${k} is a Pulumi secret`,
                    );
            const values = secrets
                .flatMap((s) => Object.entries<string>(s.stringData ?? {}))
                .filter(([k, v]) => k !== "username" && k !== "ca.crt" && k !== "tls.crt" && !v.includes("@"))
                .map(([, v]) => v);
            const text = JSON.stringify([
                operatorRelease(us)!.inputs.values,
                peerGatewayRelease(us)!.inputs.values,
                ofKind(objects, "ConfigMap").map((c) => c.data),
                redisObjects(us).map((o) => o.spec),
            ]);
            assert.deepEqual(values.filter((v) => text.includes(v)).length, 0);
            const mine = us.resources.filter(
                (r) => r.urn.includes("RedisEnterprise") || r.inputs?.metadata?.namespace === NS,
            );
            assert.deepEqual(
                evaluate(mine.map(toPolicyResource))
                    .filter((f) => f.rule === "no-plaintext-secrets")
                    .map((f) => f.message),
                [],
            );
        });

        it("runs in a guarded namespace: baseline enforced (restricted warned), default-deny, webhook namespace label, the webhook alone open by address", () => {
            const ns = named(objects, "Namespace", NS);
            assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/enforce"], "baseline");
            assert.equal(ns.metadata.labels?.["pod-security.kubernetes.io/warn"], "restricted");
            assert.equal(ns.metadata.labels?.["redis.io/redisenterprise.admission.enable"], NS);
            const policies = ofKind(objects, "NetworkPolicy", NS);
            assert.ok(policies.some((p) => p.metadata.name === "default-deny"));
            for (const p of policies)
                for (const rule of p.spec.ingress ?? [])
                    assert.ok(
                        rule.from?.length,
                        `${p.metadata.name}: an ingress rule without sources admits every pod`,
                    );
        });

        it("lets Prometheus scrape the metrics endpoint over HTTPS, verifying it against our CA", () => {
            const monitor = ofKind(objects, "ServiceMonitor", NS)[0];
            assert.deepEqual(monitor.spec.selector.matchLabels, { "redis.io/service": "prom-metrics" });
            const endpoint = monitor.spec.endpoints[0];
            assert.equal(endpoint.scheme, "https");
            assert.equal(endpoint.tlsConfig.insecureSkipVerify, undefined, "no insecureSkipVerify");
            assert.deepEqual(endpoint.tlsConfig.ca, { configMap: { name: "redis-enterprise-ca", key: "ca.crt" } });
            assert.equal(endpoint.tlsConfig.serverName, "rec-us-prom.redis-enterprise.svc");
            const ca = named(objects, "ConfigMap", "redis-enterprise-ca", NS).data["ca.crt"];
            assert.equal(ca, named(objects, "Secret", "redis-enterprise-server-tls", NS).stringData["ca.crt"]);
            const allow = named(objects, "NetworkPolicy", "allow-metrics-scrape", NS);
            assert.deepEqual(allow.spec.ingress[0].ports, [{ protocol: "TCP", port: 8070 }]);
        });
    });

    describe("security findings (each check also run on a copy with the finding put back)", () => {
        it("each consumer has a login of its own: a Redis ACL user on its own keys of the cache database, auth a sessions database of its own", async () => {
            for (const r of [await deployedStack("us"), await deployedStack(US_LINKED.stack, US_LINKED)]) {
                const objects = objectsOf(r);
                assert.deepEqual(sharedCacheCredentialProblems(objects), [], r.stack);
                // Damaged copies: one password for two consumers; an ACL on every key; the default user back on.
                const shared = copyOf(objects);
                const pass = (o: Obj) => o.kind === "Secret" && o.metadata.name === "product-catalog-cache";
                shared.find(pass)!.stringData.password = secretData(
                    named(objects, "Secret", "payment-cache", "ecommerce"),
                ).password;
                assert.match(sharedCacheCredentialProblems(shared).join("\n"), /shares its cache password/);
                const everyKey = copyOf(objects);
                everyKey.find((o) => o.kind === KINDS.acl && o.metadata.name === "cache-payment")!.spec.acl =
                    "+@all ~*";
                assert.match(sharedCacheCredentialProblems(everyKey).join("\n"), /payment: its ACL admits keys ~\*/);
                const defaultUser = copyOf(objects);
                defaultUser.find((o) => o.kind === KINDS.redb && o.metadata.name === "cache")!.spec.defaultUser = true;
                assert.match(sharedCacheCredentialProblems(defaultUser).join("\n"), /default user/);
            }
        });

        it("every client speaks TLS to Redis Enterprise and verifies the server against the CA it is given", async () => {
            for (const r of [await deployedStack("us"), await deployedStack(US_LINKED.stack, US_LINKED)]) {
                const objects = objectsOf(r);
                assert.deepEqual(plainTextCacheProblems(objects), [], r.stack);
                const plain = copyOf(objects);
                plain.find((o) => o.kind === KINDS.redb && o.metadata.name === "cache")!.spec.tlsMode = "disabled";
                assert.match(plainTextCacheProblems(plain).join("\n"), /cache: tlsMode disabled/);
                const noCa = copyOf(objects);
                noCa.find((o) => o.kind === "ConfigMap" && o.metadata.name === "auth-cache-ca")!.data["ca.crt"] =
                    "other";
                assert.match(plainTextCacheProblems(noCa).join("\n"), /ecommerce\/auth: no CA/);
            }
        });

        it("the cluster API and the Active-Active database are reachable only from the peers' addresses, through a gateway of their own, and not in public DNS", async () => {
            const first = await deployedStack("us");
            // Before the peers publish: this region's own address (the operator checks its own cluster through it).
            assert.deepEqual(exposureProblems(first, [EGRESS.us]), []);
            const linked = await deployedStack(US_LINKED.stack, US_LINKED);
            const ranges = [EGRESS.asia, EGRESS.eu, EGRESS.us].sort();
            assert.deepEqual(exposureProblems(linked, ranges), []);
            // Damaged: the peer gateway's load balancer open to the world.
            const open = JSON.parse(JSON.stringify(linked)) as StackEvaluation;
            peerGatewayRelease(open)!.inputs.values.service.loadBalancerSourceRanges = [];
            assert.match(exposureProblems(open, ranges).join("\n"), /load balancer admits/);
            // Damaged: the cluster admits the public ingress gateway again.
            const viaPublic = JSON.parse(JSON.stringify(linked)) as StackEvaluation;
            const policy = viaPublic.resources.find((x) => x.inputs?.metadata?.name === "allow-peer-gateway")!;
            policy.inputs.spec.ingress[0].from.push({
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "istio-ingress" } },
            });
            assert.match(exposureProblems(viaPublic, ranges).join("\n"), /admits istio-ingress/);
        });

        it("peers get the cluster's Active-Active peering user (Admin, no data access), never its administrator", async () => {
            for (const r of [
                await deployedStack("us"),
                await deployedStack(US_LINKED.stack, US_LINKED),
                await deployedStack(EU_REPLICA.stack, EU_REPLICA),
            ])
                assert.deepEqual(peerCredentialProblems(r), [], r.stack);
            const us = await deployedStack("us");
            const pub = published(us);
            assert.equal(pub.username, "active-active-peering@us.shop.example.com");
            assert.equal(
                pub.password,
                secretData(named(objectsOf(us), "Secret", "active-active-peering", NS)).password,
            );
            assert.ok(
                isSecretAt((us.outputs as any).publishedForPeers, ["redis", "password"]),
                "published as a secret",
            );
            assert.deepEqual(pub.sourceRanges, [EGRESS.us]);
            const leaky = JSON.parse(JSON.stringify(us)) as StackEvaluation;
            const admin = secretData(named(objectsOf(us), "Secret", "rec-us", NS)).password;
            (leaky.outputs as any).publishedForPeers = { region: "us", redis: { ...pub, password: admin } };
            assert.match(peerCredentialProblems(leaky).join("\n"), /administrator's password is published/);
        });

        it("no production stack runs a single Redis pod: the shop's cache is Redis Enterprise in every phase", async () => {
            for (const stack of ["us", "eu", "asia"]) {
                const objects = objectsOf(await deployedStack(stack));
                const redisPods = objects.filter(
                    (o) =>
                        ["Deployment", "StatefulSet"].includes(o.kind) &&
                        /redis/.test(JSON.stringify(o.spec?.template?.spec?.containers?.map((c: any) => c.image))),
                );
                assert.deepEqual(
                    redisPods.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`),
                    [],
                    stack,
                );
                assert.match(
                    named(objects, "ConfigMap", "warung-kopi-config", "warung-kopi").data.REDIS_HOST,
                    /\.redis-enterprise\.svc/,
                );
            }
            const dev = objectsOf(await deployedStack("dev"));
            assert.ok(named(dev, "Deployment", "redis", "warung-kopi"), "dev keeps the seed's Redis Deployment");
            assert.throws(
                () => configOf("us", { layers: { redisEnterprise: false } }),
                /layers\.redisEnterprise.*expected true in a production stack/s,
            );
        });
    });

    describe("once the peers are linked (us owns the Active-Active database)", () => {
        let r: StackEvaluation;
        let objects: Obj[];
        before(async () => {
            r = await deployedStack(US_LINKED.stack, US_LINKED);
            objects = objectsOf(r);
        });

        it("creates the Active-Active sessions database after every RERC, each RERC with the peer's peering credentials", () => {
            assert.deepEqual(
                ofKind(objects, KINDS.rerc)
                    .map((o) => o.metadata.name)
                    .sort(),
                ["rerc-asia", "rerc-eu", "rerc-us"],
            );
            const db = named(objects, KINDS.reaadb, "sessions", NS);
            assert.deepEqual(db.spec.participatingClusters.map((p: any) => p.name).sort(), [
                "rerc-asia",
                "rerc-eu",
                "rerc-us",
            ]);
            assert.equal(db.spec.globalConfigurations.databaseSecretName, "sessions-password");
            assert.equal(db.spec.globalConfigurations.databasePort, 12002);
            const deps = transitiveDependencies(r.resources, db.$resource);
            for (const rerc of ofKind(objects, KINDS.rerc))
                assert.ok(deps.has(rerc.$resource.urn), `after ${rerc.metadata.name}`);
            assert.equal(db.$resource.protect, true);
            const eu = named(objects, KINDS.rerc, "rerc-eu", NS);
            assert.deepEqual(eu.spec, {
                recName: "rec-eu",
                recNamespace: NS,
                apiFqdnUrl: "redis-api.eu.shop.example.com",
                dbFqdnSuffix: ".redis-db.eu.shop.example.com",
                secretName: "redis-enterprise-rerc-eu",
            });
            const s = named(objects, "Secret", "redis-enterprise-rerc-eu", NS);
            assert.equal(s.stringData.password, "peer-peering-password-eu");
            assert.ok(isSecretAt(s.$resource.inputs, ["stringData", "password"]));
            assert.deepEqual(redisPending(r), []);
        });

        it("switches auth to the Active-Active database and keeps the regional one as the way back; the other consumers stay on the regional cache", () => {
            const auth = envOf(objects, "Deployment", "auth", "ecommerce");
            assert.equal(auth.CACHE_HOST.value, "sessions.redis-enterprise.svc.cluster.local");
            assert.equal(auth.CACHE_PORT.value, "12002");
            assert.equal(auth.CACHE_USERNAME, undefined, "the sessions database's own password, no ACL user");
            assert.ok(named(objects, KINDS.redb, "sessions-regional", NS), "the regional sessions database stays");
            assert.equal(
                envOf(objects, "Deployment", "payment", "ecommerce").CACHE_HOST.value,
                "cache.redis-enterprise.svc.cluster.local",
            );
            const pub = published(r);
            assert.equal(pub.activeActiveDatabase, "sessions");
            assert.equal(pub.databasePassword, secretData(named(objects, "Secret", "sessions-password", NS)).password);
            assert.equal(
                secretData(named(objects, "Secret", "auth-cache", "ecommerce")).password,
                pub.databasePassword,
            );
        });
    });

    describe("in a replica region (eu, once us created the database)", () => {
        it("never creates the database itself, takes the owner's password, and switches auth once the owner published it", async () => {
            const r = await deployedStack(EU_REPLICA.stack, EU_REPLICA);
            const objects = objectsOf(r);
            assert.equal(ofKind(objects, KINDS.reaadb).length, 0, "the operator brings the replica");
            assert.deepEqual(
                ofKind(objects, KINDS.rerc)
                    .map((o) => o.metadata.name)
                    .sort(),
                ["rerc-asia", "rerc-eu", "rerc-us"],
            );
            const db = named(objects, "Secret", "sessions-password", NS);
            assert.equal(db.stringData.password, "owner-sessions-password");
            assert.equal(
                envOf(objects, "Deployment", "auth", "ecommerce").CACHE_HOST.value,
                "sessions.redis-enterprise.svc.cluster.local",
            );
            assert.deepEqual(redisPending(r), []);
            assert.equal(published(r).databasePassword, undefined, "only the owner publishes the password");
        });
    });

    describe("in the dev stack", () => {
        it("creates no Redis Enterprise objects (it does not fit a laptop)", async () => {
            const dev = await deployedStack("dev");
            assert.deepEqual(
                redisObjects(dev).map((o) => `${o.kind} ${o.metadata.name}`),
                [],
            );
            assert.equal(operatorRelease(dev), undefined);
            assert.equal(
                objectsOf(dev).some((o) => o.kind === "Namespace" && [NS, PEERS_NS].includes(o.metadata.name!)),
                false,
            );
        });
    });

    describe("bootstrap phases (planRedis)", () => {
        // Overrides replace a stack file's key: keep the region's own egress address unless a test sets it.
        const cfg = (
            region: "us" | "eu",
            redisEnterprise: Record<string, unknown> = {},
            more: Record<string, unknown> = {},
        ) => {
            const { egressCidrs = [EGRESS[region]], ...rest } = redisEnterprise;
            return configOf(region, {
                cluster: { ...fileKey(region, "cluster"), egressCidrs },
                redisEnterprise: { licenseSecretName: "redis-enterprise-license", ...rest },
                ...more,
            });
        };
        const peer = (region: "us" | "eu" | "asia", extra: Record<string, unknown> = {}): PeerRegion => ({
            region,
            stack: stackOf(region),
            published: publishedRedis(region, extra).publishedForPeers,
        });
        const notDeployed = (region: "us" | "eu" | "asia"): PeerRegion => ({ region, stack: stackOf(region) });
        const plan = (c: ReturnType<typeof cfg>, peers: PeerRegion[]) => planRedis(c, peers, localCluster(c, "u", "p"));

        it("a region without peers: regional databases only, nothing exposed, nothing pending", () => {
            const c = cfg("us", {}, { peers: {} });
            const p = plan(c, []);
            assert.equal(p.mode, "regional");
            assert.equal(p.sessions, DATABASES.regionalSessions);
            assert.equal(p.peerHosts, undefined);
            assert.deepEqual(p.pending, []);
        });

        it("the owner waits for every peer, then creates the Active-Active database and switches in the same update", () => {
            const c = cfg("us");
            const waiting = plan(c, [peer("eu"), notDeployed("asia")]);
            assert.equal(waiting.createActiveActive, false);
            assert.equal(waiting.sessions, DATABASES.regionalSessions);
            assert.deepEqual(waiting.pending, ["redis:asia"]);
            assert.deepEqual(
                waiting.participants.map((x) => x.rerc),
                ["rerc-us", "rerc-eu"],
            );
            const linked = plan(c, [peer("eu"), peer("asia")]);
            assert.equal(linked.createActiveActive, true);
            assert.equal(linked.sessions, DATABASES.sessions);
            assert.deepEqual(linked.activeActivePassword, { generate: true });
        });

        it("a replica switches only once the owner published the database and its password", () => {
            const c = cfg("eu");
            const waiting = plan(c, [peer("us"), peer("asia")]);
            assert.equal(waiting.mode, "replica");
            assert.equal(waiting.sessions, DATABASES.regionalSessions);
            assert.deepEqual(waiting.pending, ["redis-database:us"]);
            assert.equal(waiting.activeActivePassword, undefined);
            const created = plan(c, [
                peer("us", { databasePassword: "x", activeActiveDatabase: "sessions" }),
                peer("asia"),
            ]);
            assert.equal(created.sessions, DATABASES.sessions);
            assert.deepEqual(created.activeActivePassword, { published: "x" });
            assert.equal(created.createActiveActive, false);
        });

        it("the owner is a config choice, and config can keep (or put back) auth on the regional database", () => {
            const elsewhere = plan(cfg("us", { activeActiveOwner: "asia" }), [peer("eu"), peer("asia")]);
            assert.equal(elsewhere.createActiveActive, false);
            assert.deepEqual(elsewhere.pending, ["redis-database:asia"]);
            const back = plan(cfg("us", { sessions: "regional" }), [peer("eu"), peer("asia")]);
            assert.equal(back.createActiveActive, true, "the Active-Active database stays");
            assert.equal(back.sessions, DATABASES.regionalSessions);
        });

        it("admits the peers' published cluster.egressCidrs and its own, as the mesh does: one key for a region's egress", () => {
            const moved = "192.0.2.64/28";
            const p = plan(cfg("us", { egressCidrs: [moved] }), [peer("eu"), peer("asia")]);
            assert.deepEqual(p.peerSourceRanges, [EGRESS.asia, EGRESS.eu, moved].sort());
            assert.deepEqual(
                p.peerSourceRanges,
                [
                    ...eastWestSources(cfg("us", { egressCidrs: [moved] }), {
                        peers: [peer("eu"), peer("asia")],
                    } as any),
                    moved,
                ].sort(),
                "the peer gateway and the east-west gateway admit the same peer ranges",
            );
        });

        it("admits config's ranges, every peer's published ones and its own; none known: reported, and the gateway admits nobody", () => {
            const c = cfg("us", { peerSourceRanges: ["100.64.0.0/24"] });
            const p = plan(c, [peer("eu"), notDeployed("asia")]);
            assert.deepEqual(p.peerSourceRanges, ["100.64.0.0/24", EGRESS.eu, EGRESS.us].sort());
            // A region that publishes no egress range (multiCluster off would allow it): a pure plan input.
            const silent = structuredClone(cfg("us"));
            silent.cluster.egressCidrs = [];
            const none = plan(silent, [notDeployed("eu"), notDeployed("asia")]);
            assert.deepEqual(none.peerSourceRanges, []);
            assert.ok(none.pending.includes("redis-peer-addresses"));
            const values: any = peerGatewayValues(c, []);
            assert.equal(values.service.type, "ClusterIP", "no load balancer admitting the world");
            assert.equal(
                (peerAuthorizationSpec([]) as any).rules,
                undefined,
                "an ALLOW policy without rules allows nothing",
            );
            assert.equal(values.global.networkPolicy.enabled, false, "the chart's open policy is off");
            assert.equal(values.rbac.enabled, false, "the passthrough gateway reads no Secrets");
            assert.throws(
                () => configOf("us", { redisEnterprise: { peerSourceRanges: ["0.0.0.0/0"] } }),
                /peerSourceRanges.*peers' own addresses/s,
            );
        });

        it("gives each cache consumer an ACL user on its own key prefix, and auth the sessions database's own login", () => {
            const consumers: CacheConsumer[] = [
                { name: "warung-kopi", store: "cache", pods: {} },
                { name: "auth", store: "sessions", pods: {} },
            ];
            const access = consumerAccess({ sessions: DATABASES.regionalSessions }, consumers);
            assert.deepEqual(access, [
                {
                    consumer: "warung-kopi",
                    database: DATABASES.cache,
                    username: "warung-kopi",
                    keyPrefix: "warung-kopi:",
                },
                { consumer: "auth", database: DATABASES.regionalSessions },
            ]);
            assert.equal(consumerAcl("payment"), "+@all -@dangerous ~payment:*");
            assert.throws(
                () => consumerAccess({ sessions: DATABASES.sessions }, [consumers[0], consumers[0]]),
                /named twice/,
            );
        });

        it("keeps the cluster's names out of public DNS unless config publishes them; the public gateway refuses them", () => {
            const c = cfg("us");
            assert.deepEqual(privateDnsNames(c), ["redis-api.us.shop.example.com", "redis-db.us.shop.example.com"]);
            assert.deepEqual(privateDnsNames(cfg("us", { publicDns: true })), []);
            const values: any = externalDnsValues(c, false, true, privateDnsNames(c));
            assert.ok(values.extraArgs.includes("--exclude-domains=redis-db.us.shop.example.com"));
            const deny: any = publicGatewayDenySpec(c);
            assert.equal(deny.action, "DENY");
            assert.deepEqual(deny.rules[0].when[0].values, [
                "redis-api.us.shop.example.com",
                "*.redis-db.us.shop.example.com",
            ]);
        });
    });

    describe("bootstrap (the deploy steps with the peers' real outputs)", () => {
        it("the peer gateway admits the peers' published cluster.egressCidrs, its own and config's extra ranges", async () => {
            const { owner, linked, inputs } = await bootstrap();
            for (const [step, r, region, peerOutputs] of [
                ["us, signing", owner, "us", inputs.owner],
                ["eu, linked", linked, "eu", inputs.linked],
            ] as const) {
                const c = configOf(region);
                const peerRanges = Object.values(peerOutputs).flatMap(
                    (o: any) => (o.publishedForPeers.mesh?.egressCidrs ?? []) as string[],
                );
                assert.ok(peerRanges.length >= 2, `${step}: both peers published their ranges`);
                const expected = [
                    ...new Set([...c.redisEnterprise.peerSourceRanges, ...c.cluster.egressCidrs, ...peerRanges]),
                ].sort();
                assert.deepEqual(exposureProblems(r, expected), [], step);
                assert.deepEqual(
                    peerRanges.sort(),
                    Object.values(peerOutputs)
                        .flatMap((o: any) => o.publishedForPeers.redis.sourceRanges)
                        .sort(),
                    `${step}: each peer publishes one set of ranges`,
                );
            }
            assert.deepEqual(published(owner).sourceRanges, configOf("us").cluster.egressCidrs);
        });

        it("a removed key in an old stack file is named with its replacement", () => {
            assert.throws(
                () =>
                    configOf("us", {
                        redisEnterprise: { ...fileKey("us", "redisEnterprise"), egressCidrs: [EGRESS.us] },
                    }),
                /ecommerce-platform:redisEnterprise\.egressCidrs: was removed: expected the region's egress ranges in cluster\.egressCidrs, the one key/,
            );
        });
    });

    describe("licence (production never runs on the trial)", () => {
        const rec = (r: StackEvaluation) => named(objectsOf(r), KINDS.rec, "rec-us", NS);

        it("a licence set in config: the program creates its Secret (a Pulumi secret) before the cluster, which reads it", async () => {
            const { owner } = await bootstrap();
            const objects = objectsOf(owner);
            const secret = named(objects, "Secret", LICENSE_SECRET, NS);
            assert.ok(isSecretAt(secret.$resource.inputs, ["stringData", "license"]), "a Pulumi secret");
            assert.equal(secretData(secret).license, TEST_LICENCE);
            const cluster = rec(owner);
            assert.equal(cluster.spec.licenseSecretName, LICENSE_SECRET);
            assert.ok(cluster.$resource.dependencies.includes(secret.$resource.urn), "the Secret exists first");
        });

        it("a Secret kept outside Pulumi (the shipped region files): the cluster names it, the program creates none", async () => {
            for (const stack of ["us", "eu", "asia"]) {
                const r = await deployedStack(stack);
                const cluster = named(objectsOf(r), KINDS.rec, `rec-${stack}`, NS);
                assert.equal(cluster.spec.licenseSecretName, configOf(stack).redisEnterprise.licenseSecretName, stack);
                assert.ok(cluster.spec.licenseSecretName, `${stack} names a licence`);
                assert.deepEqual(
                    ofKind(objectsOf(r), "Secret").filter((o) => o.metadata.name === cluster.spec.licenseSecretName),
                    [],
                    `${stack}: not created by the program`,
                );
            }
        });

        it("moving a region from its own Secret to the config key creates no Secret that already exists", async () => {
            // The shipped files name a Secret kept outside Pulumi; a region that moves to the config key
            // still has it when the program creates its own: the two must not share a name (the provider
            // creates objects, it does not adopt them: AlreadyExists), nor may removing the program's
            // Secret on the way back remove the one the cluster then names.
            const { owner } = await bootstrap();
            const created = ofKind(objectsOf(owner), "Secret").map((o) => o.metadata.name);
            for (const stack of ["us", "eu", "asia"]) {
                const kept = configOf(stack).redisEnterprise.licenseSecretName;
                assert.ok(kept && !created.includes(kept), `${stack}: ${kept} is also created by the program`);
            }
        });

        it("counts the shards the licence rule checks from the databases the region creates", async () => {
            // The databases us creates once linked, as the operator counts their shards.
            const linked = redisObjects(await deployedStack(US_LINKED.stack, US_LINKED));
            const settings = [
                ...ofKind(linked, KINDS.redb).map((o) => o.spec),
                ...ofKind(linked, KINDS.reaadb).map((o) => o.spec.globalConfigurations),
            ];
            const created = settings.reduce((n, db) => n + db.shardCount * (db.replication ? 2 : 1), 0);
            const c = configOf("us");
            const peers = [peerOf("eu"), peerOf("asia")];
            const p = planRedis(c, peers, localCluster(c, "u", "p"));
            assert.equal(totalShards(p.databases), created);
            assert.equal(created, 6);
            assert.ok(created > TRIAL_LICENCE.shards, "the regions outgrow the trial");
            // Without peers (a single region): the regional databases, which fit the trial.
            const alone = planRedis(c, [], localCluster(c, "u", "p"));
            assert.equal(totalShards(alone.databases), 4);
            assert.ok(totalShards(alone.databases) <= TRIAL_LICENCE.shards);
            // The rule's message names the same count (config/rules.ts reads the same table).
            assert.throws(
                () => configOf("us", { redisEnterprise: { peerSourceRanges: [] } }),
                new RegExp(`databases take ${created} shards`),
            );
        });
    });

    describe("schema subset", () => {
        it("rejects what the CRDs reject: unknown fields, bad enums, a misnamed RERC Secret, a one-cluster Active-Active database, scope-less roles", () => {
            const meta = { name: "x", namespace: NS };
            const problems = (o: any) => redisEnterpriseSchemaProblems(o) ?? [];
            const bad = [
                { apiVersion: `${GROUP}v1`, kind: KINDS.rec, metadata: meta, spec: { nodes: 3, nodez: 1 } },
                {
                    apiVersion: `${GROUP}v1`,
                    kind: KINDS.rec,
                    metadata: meta,
                    spec: { ingressOrRouteSpec: { apiFqdnUrl: "a", dbFqdnSuffix: "b", method: "nginx" } },
                },
                {
                    apiVersion: `${GROUP}v1`,
                    kind: KINDS.rec,
                    metadata: meta,
                    spec: { certificates: { proxyCert: "x" } },
                },
                {
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: KINDS.rerc,
                    metadata: meta,
                    spec: { recName: "r", recNamespace: NS, apiFqdnUrl: "a", secretName: "redis-enterprise-y" },
                },
                {
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: KINDS.rerc,
                    metadata: meta,
                    spec: { recName: "r", apiFqdnUrl: "a" },
                },
                {
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: KINDS.reaadb,
                    metadata: meta,
                    spec: { participatingClusters: [{ name: "a" }] },
                },
                {
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: KINDS.reaadb,
                    metadata: meta,
                    spec: {
                        participatingClusters: [{ name: "a" }, { name: "b" }],
                        globalConfigurations: { tlsMode: "on" },
                    },
                },
                { apiVersion: `${GROUP}v1alpha1`, kind: KINDS.redb, metadata: meta, spec: { defaultUser: "no" } },
                { apiVersion: `${GROUP}v1alpha1`, kind: KINDS.role, metadata: meta, spec: { scopes: [] } },
                {
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: KINDS.role,
                    metadata: meta,
                    spec: { scopes: [{ kind: "bdb", selector: { matchLabels: { a: "b" } } }] },
                },
                {
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: KINDS.role,
                    metadata: meta,
                    spec: { scopes: [{ name: "c" }], managementRole: "Admin" },
                },
                {
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: KINDS.binding,
                    metadata: meta,
                    spec: { subjects: [{ name: "u" }] },
                },
                {
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: KINDS.user,
                    metadata: meta,
                    spec: { username: "u", passwordMode: "Twice" },
                },
                { apiVersion: `${GROUP}v1alpha1`, kind: KINDS.user, metadata: meta, spec: { username: "u" } },
                { apiVersion: `${GROUP}v1alpha1`, kind: KINDS.acl, metadata: meta, spec: {} },
                {
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: "RedisEnterpriseClusterRole",
                    metadata: meta,
                    spec: { managementRole: "Root" },
                },
            ];
            for (const o of bad) assert.notDeepEqual(problems(o), [], JSON.stringify(o.spec));
            assert.deepEqual(
                problems({
                    apiVersion: `${GROUP}v1alpha1`,
                    kind: KINDS.rerc,
                    metadata: meta,
                    spec: { recName: "r", recNamespace: NS, apiFqdnUrl: "a", secretName: "redis-enterprise-x" },
                }),
                [],
            );
            assert.equal(redisEnterpriseSchemaProblems({ apiVersion: "v1", kind: "Secret" }), undefined);
        });
    });
});
