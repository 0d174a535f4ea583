// Redis Enterprise (issue 4 §3, issues 12 and 14): the operator, a RedisEnterpriseCluster per region,
// the regional databases (the cache, auth's sessions), the Active-Active sessions database, one Redis
// ACL user per cache consumer, the peering user and a RedisEnterpriseRemoteCluster for every
// participating region, and the gateway that admits only the peers (./plan.ts says what, and why).
//
// Order: namespace -> operator release (installs the CRDs from a hook Job and the admission webhook,
// and waits for the operator) -> admin Secret and server certificate -> REC (waits until Running) ->
// users, roles, ACLs -> RERCs -> databases (wait until active) -> the apps (their endpoint's host
// resolves only once their database and login exist).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { type PlatformConfig, redisEnterpriseLicense } from "../../config";
import { redisReplicationGroup } from "../alerts";
import type {
    CacheConsumer,
    CacheEndpoint,
    IngressRule,
    LayerReport,
    MeshContract,
    MonitoringContract,
    PublishedForPeers,
    StackContext,
    StorageContract,
} from "../contracts";
import { CHARTS, chartValues, pinnedRelease } from "../helm";
import { partLabels } from "../labels";
import { ENVOY_STATS_PORT, NAMESPACES } from "../names";
import { HardenedNamespace } from "../namespace";
import { anyAddress, namespacePeer, networkPolicy, policiesIn, SAME_NAMESPACE, scrapeRule, tcp } from "../network";
import type { PeerRegions } from "../peers";
import {
    PEER_GATEWAY,
    PEER_ROUTES,
    peerAuthorizationSpec,
    peerGatewayAlerts,
    peerGatewaySpec,
    peerGatewayValues,
    peerRoutesSpec,
    publicGatewayDenySpec,
} from "./exposure";
import {
    API_PORT,
    consumerAccess,
    consumerObjectName,
    databaseHost,
    DATABASES,
    type DatabaseRef,
    LICENSE_SECRET,
    localCluster,
    METRICS_PORT,
    NAMESPACE,
    nodePodLabels,
    PEERING_USER,
    planRedis,
    privateDnsNames,
    recName,
    REGIONAL_SESSIONS_SECRET,
    rercSecretName,
    serverCertificateNames,
    SESSIONS_SECRET,
    WEBHOOK_PORT,
} from "./plan";
import {
    type AccessObject,
    activeActiveSessionsSpec,
    CA_CONFIGMAP,
    cacheDatabaseSpec,
    clusterSpec,
    consumerAccessObjects,
    peeringAccessObjects,
    peeringUsername,
    regionalSessionsSpec,
    SERVER_CERTIFICATE_SECRET,
} from "./specs";

export { clusterSpec, privateDnsNames };

/** Namespace label the chart's ValidatingWebhookConfiguration selects (admission.limitToNamespace). */
const ADMISSION_NAMESPACE_LABEL = "redis.io/redisenterprise.admission.enable";
const GROUP = "app.redislabs.com";

export interface RedisEnterpriseArgs {
    ctx: StackContext;
    peers: PeerRegions;
    /** The mesh: its CRDs and istiod (the peer gateway and its routes), its public ingress gateway. */
    mesh: MeshContract;
    monitoring?: MonitoringContract;
    /** The StorageClass the cluster nodes' persistent volumes name. */
    storage: StorageContract;
    /** Who uses a cache (the shop, the core services): each gets an endpoint and a login of its own. */
    consumers: CacheConsumer[];
}

/** Static chart values (helm/redis-enterprise-operator.yaml) with the stack's scheduling merged in. */
export function operatorValues(cfg: PlatformConfig): Record<string, unknown> {
    return chartValues("redis-enterprise-operator.yaml", {
        operator: {
            nodeSelector: { ...cfg.scheduling.nodeSelector },
            tolerations: cfg.scheduling.tolerations.map((t) => ({ ...t })),
        },
    });
}

export class RedisEnterprise extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    /** Each consumer's cache endpoint (by consumer name), in every phase of the region's bootstrap. */
    public readonly caches: Record<string, CacheEndpoint> = {};
    /** The operator release (CRDs + admission webhook): custom resources in this group depend on it. */
    public readonly operator: k8s.helm.v3.Release;
    public readonly cluster: k8s.apiextensions.CustomResource;

    constructor(name: string, args: RedisEnterpriseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:RedisEnterprise", name, {}, opts);
        const { ctx, mesh } = args;
        const { cfg } = ctx;
        const o = { parent: this, provider: ctx.provider };
        const production = cfg.tier === "production";
        const rec = recName(cfg.region);
        const labels = partLabels("redis-enterprise");

        // Peer wiring first (pure): which databases, which peers, which phase. With peers, the cluster
        // has a peering user of its own: its credentials are what the peers (and its own RERC) get.
        const activeActive = args.peers.peers.length > 0;
        const peeringPassword = pulumi.secret(
            activeActive
                ? new random.RandomPassword(
                      `${name}-peering-password`,
                      { length: 32, special: false },
                      { parent: this },
                  ).result
                : "",
        );
        const local = localCluster(cfg, peeringUsername(cfg), peeringPassword);
        const plan = planRedis(cfg, args.peers.peers, local);
        const access = consumerAccess(plan, args.consumers);

        // Pod Security "baseline", not "restricted": the operator builds the Redis Enterprise node and
        // services-rigger pods from its own templates (UID 1001, capabilities dropped with
        // allowAutoAdjustment false) and does not guarantee the pod-level seccompProfile and
        // runAsNonRoot that "restricted" requires; a rejected pod would leave the cluster half-created.
        // warn/audit stay at "restricted", so any shortfall is reported.
        const ns = new HardenedNamespace(
            `${name}-ns`,
            {
                ctx,
                name: NAMESPACE,
                podSecurity: "baseline",
                labels: { [ADMISSION_NAMESPACE_LABEL]: NAMESPACE },
            },
            { parent: this },
        );
        const inNamespace = { ...o, dependsOn: [ns.namespace] };
        const secret = (
            rname: string,
            secretName: string,
            data: Record<string, pulumi.Input<string>>,
            type = "Opaque",
        ) =>
            new k8s.core.v1.Secret(
                `${name}-${rname}`,
                {
                    metadata: { name: secretName, namespace: NAMESPACE, labels },
                    type,
                    stringData: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, pulumi.secret(v)])),
                },
                inNamespace,
            );

        // Allows first: the CRD hook Job and the operator call the API server from the first second.
        const allows = this.networkPolicies(name, args, access, activeActive, inNamespace);

        // Waits for the CRD hook Job and for the operator (and its webhook) to be ready.
        this.operator = pinnedRelease(
            `${name}-operator`,
            {
                ctx,
                chart: CHARTS.redisEnterpriseOperator,
                releaseName: "redis-enterprise-operator",
                namespace: NAMESPACE,
                values: operatorValues(cfg),
                timeoutSeconds: 600,
            },
            { parent: this, dependsOn: [ns.namespace, ...allows], customTimeouts: { create: "15m", update: "15m" } },
        );

        // Cluster admin credentials: generated here, in the Secret the REC is told to use, created
        // before the REC so the operator adopts them. They stay in this region: peers get the peering user.
        const username = `platform-admin@${cfg.domain}`;
        const adminPassword = pulumi.secret(
            new random.RandomPassword(`${name}-admin-password`, { length: 32, special: false }, { parent: this })
                .result,
        );
        const adminSecret = secret("admin-credentials", rec, { username, password: adminPassword });

        // The server certificate every database (and the metrics exporter) presents, from a CA of this
        // stack: its key stays in this stack's state; clients get the CA certificate only.
        const ca = this.certificateAuthority(name, cfg);
        const serverTls = secret(
            "server-tls",
            SERVER_CERTIFICATE_SECRET,
            { "tls.crt": ca.serverCert, "tls.key": ca.serverKey, "ca.crt": ca.caCert },
            "kubernetes.io/tls",
        );
        // The licence from config (a Pulumi secret), in the Secret the cluster reads it from.
        const licence = redisEnterpriseLicense();
        const licenceSecret = licence ? secret("license", LICENSE_SECRET, { license: licence }) : undefined;
        new k8s.core.v1.ConfigMap(
            `${name}-ca`,
            { metadata: { name: CA_CONFIGMAP, namespace: NAMESPACE, labels }, data: { "ca.crt": ca.caCert } },
            inNamespace,
        );

        this.cluster = new k8s.apiextensions.CustomResource(
            `${name}-cluster`,
            {
                apiVersion: `${GROUP}/v1`,
                kind: "RedisEnterpriseCluster",
                metadata: {
                    name: rec,
                    namespace: NAMESPACE,
                    labels,
                    // Later steps need a running cluster, not just an accepted object.
                    annotations: { "pulumi.com/waitFor": "jsonpath={.status.state}=Running" },
                },
                spec: clusterSpec(cfg, {
                    username,
                    storageClassName: args.storage.className,
                    activeActive,
                    licenseFromConfig: !!licenceSecret,
                }),
            },
            {
                ...o,
                // The Istio CRDs for the routes the operator makes of ingressOrRouteSpec; not istiod: its
                // validating webhook fails open on a first install (failurePolicy Ignore until istiod is
                // ready, charts 1.30) and runs on every later one, and the operator retries. So the
                // cluster's long bootstrap runs beside istiod's, and a first deploy stays shallow.
                dependsOn: [
                    this.operator,
                    adminSecret,
                    serverTls,
                    ...(licenceSecret ? [licenceSecret] : []),
                    mesh.crds,
                ],
                customTimeouts: { create: "40m", update: "40m", delete: "20m" },
                protect: production,
            },
        );
        const afterCluster = { ...o, dependsOn: [this.operator, this.cluster] };
        const accessObject = (a: AccessObject, dependsOn: pulumi.Resource[]) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${a.kind.replace(/^RedisEnterprise/, "").toLowerCase()}-${a.name}`,
                {
                    apiVersion: `${GROUP}/v1alpha1`,
                    kind: a.kind,
                    metadata: { name: a.name, namespace: NAMESPACE, labels },
                    spec: a.spec,
                },
                { ...afterCluster, dependsOn: [this.operator, this.cluster, ...dependsOn] },
            );
        // Each object after the ones listed before it (ACL, role, user, binding), the user after its password.
        const accessObjects = (objects: AccessObject[], passwordSecret: k8s.core.v1.Secret) => {
            const made: k8s.apiextensions.CustomResource[] = [];
            for (const a of objects)
                made.push(accessObject(a, a.kind === "RedisEnterpriseUser" ? [passwordSecret, ...made] : [...made]));
            return made;
        };

        // ---- The peering user: what every participating region (this one included) logs in with.
        const peering = activeActive
            ? accessObjects(
                  peeringAccessObjects(cfg),
                  secret("peering-credentials", PEERING_USER, { password: peeringPassword }),
              )
            : [];

        const rercs = activeActive
            ? plan.participants.map((p) => {
                  const credentials = secret(`${p.rerc}-credentials`, rercSecretName(p.rerc), {
                      username: p.username,
                      password: p.password,
                  });
                  return new k8s.apiextensions.CustomResource(
                      `${name}-${p.rerc}`,
                      {
                          apiVersion: `${GROUP}/v1alpha1`,
                          kind: "RedisEnterpriseRemoteCluster",
                          metadata: {
                              name: p.rerc,
                              namespace: NAMESPACE,
                              labels: { ...labels, "ecommerce-platform.io/region": p.region },
                          },
                          spec: {
                              recName: p.recName,
                              recNamespace: p.recNamespace,
                              apiFqdnUrl: p.apiFqdnUrl,
                              dbFqdnSuffix: p.dbFqdnSuffix,
                              secretName: rercSecretName(p.rerc),
                          },
                      },
                      {
                          ...o,
                          dependsOn: [this.operator, this.cluster, credentials, ...(p === local ? peering : [])],
                          customTimeouts: { create: "10m", update: "10m" },
                      },
                  );
              })
            : [];

        // ---- Databases. Each waits until active: the apps switch to it only then.
        const database = (
            rname: string,
            kind: "RedisEnterpriseDatabase" | "RedisEnterpriseActiveActiveDatabase",
            db: DatabaseRef,
            spec: Record<string, unknown>,
            dependsOn: pulumi.Resource[],
        ) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${rname}`,
                {
                    apiVersion: `${GROUP}/v1alpha1`,
                    kind,
                    metadata: {
                        name: db.name,
                        namespace: NAMESPACE,
                        labels,
                        annotations: { "pulumi.com/waitFor": "jsonpath={.status.status}=active" },
                    },
                    spec,
                },
                {
                    ...o,
                    dependsOn: [this.operator, this.cluster, ...dependsOn],
                    customTimeouts: { create: "20m", update: "20m", delete: "20m" },
                    protect: production,
                },
            );
        const cacheDb = database(
            "cache-database",
            "RedisEnterpriseDatabase",
            DATABASES.cache,
            cacheDatabaseSpec(cfg),
            [],
        );
        const regionalSessionsPassword = new random.RandomPassword(
            `${name}-regional-sessions-password`,
            { length: 32, special: false },
            { parent: this },
        ).result;
        const regionalSessionsSecret = secret("regional-sessions-credentials", REGIONAL_SESSIONS_SECRET, {
            password: regionalSessionsPassword,
        });
        const regionalSessionsDb = database(
            "regional-sessions-database",
            "RedisEnterpriseDatabase",
            DATABASES.regionalSessions,
            regionalSessionsSpec(cfg),
            [regionalSessionsSecret],
        );

        // The Active-Active database's password: the same in every participating region (the owner generates it).
        const src = plan.activeActivePassword;
        const sessionsPassword =
            src === undefined
                ? undefined
                : "generate" in src
                  ? pulumi.secret(
                        new random.RandomPassword(
                            `${name}-database-password`,
                            { length: 32, special: false },
                            { parent: this },
                        ).result,
                    )
                  : pulumi.secret(src.published);
        const sessionsSecret =
            sessionsPassword && secret("database-credentials", SESSIONS_SECRET, { password: sessionsPassword });
        const sessionsDb =
            plan.createActiveActive && sessionsSecret
                ? database(
                      "database",
                      "RedisEnterpriseActiveActiveDatabase",
                      DATABASES.sessions,
                      activeActiveSessionsSpec(
                          cfg,
                          plan.participants.map((p) => p.rerc),
                      ),
                      [...rercs, sessionsSecret],
                  )
                : undefined;

        // ---- Logins, one per cache consumer, and the endpoints the consumers get.
        const ready = (resources: k8s.apiextensions.CustomResource[], host: string) =>
            pulumi.all(resources.map((r) => r.id)).apply(() => host);
        for (const a of access) {
            let host: pulumi.Input<string>;
            let password: pulumi.Output<string>;
            if (a.username) {
                const objectName = consumerObjectName(a.consumer);
                const consumerPassword = pulumi.secret(
                    new random.RandomPassword(
                        `${name}-${objectName}-password`,
                        { length: 32, special: false },
                        { parent: this },
                    ).result,
                );
                const passwordSecret = secret(`${objectName}-credentials`, objectName, { password: consumerPassword });
                const made = accessObjects(consumerAccessObjects(cfg, a), passwordSecret);
                host = ready([cacheDb, ...made], databaseHost(a.database));
                password = consumerPassword;
            } else if (a.database.name === DATABASES.sessions.name && sessionsPassword) {
                // In a replica region the operator brings the database: there is no resource here to wait for.
                host = sessionsDb ? ready([sessionsDb], databaseHost(a.database)) : databaseHost(a.database);
                password = sessionsPassword;
            } else {
                host = ready([regionalSessionsDb], databaseHost(a.database));
                password = pulumi.secret(regionalSessionsPassword);
            }
            this.caches[a.consumer] = {
                host,
                port: a.database.port,
                ...(a.username ? { username: a.username, keyPrefix: a.keyPrefix } : {}),
                password,
                tls: true,
                caCertificate: ca.caCert,
                namespace: NAMESPACE,
                podSelector: nodePodLabels(cfg.region),
            };
        }

        // ---- Peers reach the cluster API and the Active-Active database through a gateway of their own.
        if (activeActive && plan.peerHosts) this.peerGateway(name, args, plan.peerSourceRanges, plan.peerHosts);

        // The cluster's Prometheus endpoint: the operator's <rec>-prom Service, port "prometheus"
        // (8070, HTTPS with the server certificate, verified against the CA).
        if (args.monitoring) {
            args.monitoring.alertRules(
                `${name}-replication-rules`,
                { namespace: NAMESPACE, ruleName: "redis-enterprise-replication", groups: [redisReplicationGroup()] },
                this,
            );
            args.monitoring.serviceMonitor(
                `${name}-metrics`,
                {
                    namespace: NAMESPACE,
                    selector: { "redis.io/service": "prom-metrics" },
                    service: `${rec}-prom`,
                    port: "prometheus",
                    scheme: "https",
                    tlsConfig: {
                        ca: { configMap: { name: CA_CONFIGMAP, key: "ca.crt" } },
                        serverName: `${rec}-prom.${NAMESPACE}.svc`,
                    },
                    alerts: { http: false, container: "redis-enterprise-node" },
                },
                this,
            );
        }

        if (activeActive) {
            const publish: NonNullable<PublishedForPeers["redis"]> = {
                recName: local.recName,
                recNamespace: local.recNamespace,
                apiFqdnUrl: local.apiFqdnUrl,
                dbFqdnSuffix: local.dbFqdnSuffix,
                username: peeringUsername(cfg),
                // Pulumi resolves outputs nested in stack outputs; these stay secrets in the peers' reads.
                password: peeringPassword as unknown as string,
                // The cluster's egress ranges (cluster.egressCidrs, the one key), for peers still reading them here.
                sourceRanges: [...cfg.cluster.egressCidrs],
                ...(plan.mode === "owner" && sessionsPassword
                    ? { databasePassword: sessionsPassword as unknown as string }
                    : {}),
                ...(plan.mode === "owner" && sessionsDb
                    ? { activeActiveDatabase: sessionsDb.metadata.apply((m) => m.name) as unknown as string }
                    : {}),
            };
            this.report.publish = { redis: publish };
        }
        this.report.pending = plan.pending;
        const endpoint = (db: DatabaseRef) => `${databaseHost(db)}:${db.port}`;
        this.report.endpoints = {
            redisEnterpriseCache: endpoint(DATABASES.cache),
            redisEnterpriseSessions: endpoint(plan.sessions),
            ...(activeActive ? { redisEnterpriseApi: `https://${local.apiFqdnUrl}` } : {}),
        };
        this.report.portForward = {
            redisEnterpriseUi: `kubectl port-forward svc/${rec}-ui 8443:8443 -n ${NAMESPACE}`,
            ...(activeActive
                ? { redisEnterprisePeerGateway: `kubectl get svc ${PEER_GATEWAY.name} -n ${PEER_GATEWAY.namespace}` }
                : {}),
        };
        this.registerOutputs({ cluster: this.cluster.metadata, pending: plan.pending });
    }

    /** A CA (3 years) and the databases' server certificate (1 year, renewed by `pulumi up` in its last 30 days). */
    private certificateAuthority(name: string, cfg: PlatformConfig) {
        const child = { parent: this };
        const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "RSA", rsaBits: 3072 }, child);
        const caCert = new tls.SelfSignedCert(
            `${name}-ca-cert`,
            {
                privateKeyPem: caKey.privateKeyPem,
                isCaCertificate: true,
                subject: { commonName: `Redis Enterprise CA (${cfg.region})`, organization: "ecommerce-platform" },
                validityPeriodHours: 3 * 365 * 24,
                earlyRenewalHours: 90 * 24,
                allowedUses: ["cert_signing", "crl_signing"],
            },
            child,
        );
        const serverKey = new tls.PrivateKey(`${name}-server-key`, { algorithm: "RSA", rsaBits: 2048 }, child);
        const names = serverCertificateNames(cfg);
        const csr = new tls.CertRequest(
            `${name}-server-csr`,
            { privateKeyPem: serverKey.privateKeyPem, subject: { commonName: names[0] }, dnsNames: names },
            child,
        );
        const serverCert = new tls.LocallySignedCert(
            `${name}-server-cert`,
            {
                certRequestPem: csr.certRequestPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                caCertPem: caCert.certPem,
                validityPeriodHours: 365 * 24,
                earlyRenewalHours: 30 * 24,
                allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
            },
            child,
        );
        return { caCert: caCert.certPem, serverCert: serverCert.certPem, serverKey: serverKey.privateKeyPem };
    }

    /**
     * The peer gateway (./exposure.ts): its namespace, release and NetworkPolicy, the Gateway and routes
     * it serves, the AuthorizationPolicy that admits only the peers, and the public gateway's refusal.
     */
    private peerGateway(
        name: string,
        args: RedisEnterpriseArgs,
        sourceRanges: string[],
        hosts: { api: string; database: string },
    ) {
        const { ctx, mesh } = args;
        const { cfg } = ctx;
        const o = { parent: this, provider: ctx.provider };
        const ns = new HardenedNamespace(
            `${name}-peers-ns`,
            { ctx, name: PEER_GATEWAY.namespace, podSecurity: "restricted", platformEgress: mesh.workloadEgress },
            { parent: this },
        );
        const policy = networkPolicy(
            `${name}-allow-peers`,
            {
                namespace: PEER_GATEWAY.namespace,
                name: "allow-peers",
                podSelector: PEER_GATEWAY.podLabels,
                // The peers' addresses only (the load balancer keeps them); no peer known: nobody.
                ingress: [
                    ...(sourceRanges.length > 0
                        ? [{ from: sourceRanges.map((cidr) => ({ ipBlock: { cidr } })), ports: tcp(PEER_GATEWAY.port) }]
                        : []),
                    // Prometheus scrapes the gateway's Envoy stats.
                    ...(args.monitoring ? [scrapeRule(args.monitoring.namespace, ENVOY_STATS_PORT.number)] : []),
                ],
                egress: [
                    {
                        to: [namespacePeer(NAMESPACE, nodePodLabels(cfg.region))],
                        ports: tcp(API_PORT, DATABASES.sessions.port),
                    },
                ],
            },
            { ...o, dependsOn: [ns] },
        );
        const release = pinnedRelease(
            `${name}-peer-gateway`,
            {
                ctx,
                chart: CHARTS.istioGateway,
                releaseName: PEER_GATEWAY.name,
                namespace: PEER_GATEWAY.namespace,
                values: peerGatewayValues(cfg, sourceRanges),
                timeoutSeconds: 600,
            },
            { parent: this, dependsOn: [ns, policy, ...mesh.ready] },
        );
        const istio = (
            rname: string,
            apiVersion: string,
            kind: string,
            namespace: string,
            objectName: string,
            spec: Record<string, unknown>,
        ) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${rname}`,
                { apiVersion, kind, metadata: { name: objectName, namespace }, spec },
                { ...o, dependsOn: [...mesh.ready, ns, release] },
            );
        const peersNs = PEER_GATEWAY.namespace;
        istio(
            "peer-authorization",
            "security.istio.io/v1",
            "AuthorizationPolicy",
            peersNs,
            "allow-peers-only",
            peerAuthorizationSpec(sourceRanges),
        );
        istio("peer-gateway-routes", "networking.istio.io/v1", "Gateway", peersNs, PEER_ROUTES, peerGatewaySpec(hosts));
        istio(
            "peer-routes",
            "networking.istio.io/v1",
            "VirtualService",
            peersNs,
            PEER_ROUTES,
            peerRoutesSpec(cfg, hosts),
        );
        if (args.monitoring) {
            new k8s.apiextensions.CustomResource(
                `${name}-peer-gateway-podmonitor`,
                {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "PodMonitor",
                    metadata: { name: PEER_GATEWAY.name, namespace: peersNs },
                    spec: {
                        selector: { matchLabels: { ...PEER_GATEWAY.podLabels } },
                        podMetricsEndpoints: [
                            { port: ENVOY_STATS_PORT.name, path: ENVOY_STATS_PORT.path, interval: "30s" },
                        ],
                    },
                },
                { ...o, dependsOn: [args.monitoring.crds, ns] },
            );
            args.monitoring.alertRules(
                `${name}-peer-gateway-rules`,
                { namespace: peersNs, ruleName: "redis-enterprise-peer-gateway", groups: [peerGatewayAlerts()] },
                this,
            );
        }
        // Whatever the operator routes through the public ingress gateway for the cluster's names is refused there.
        new k8s.apiextensions.CustomResource(
            `${name}-public-gateway-deny`,
            {
                apiVersion: "security.istio.io/v1",
                kind: "AuthorizationPolicy",
                metadata: { name: "deny-redis-enterprise-names", namespace: NAMESPACES.ingress },
                spec: publicGatewayDenySpec(cfg),
            },
            { ...o, dependsOn: mesh.ready },
        );
    }

    /**
     * Explicit allows on top of the namespace's default-deny: within the namespace (operator, nodes,
     * rigger), HTTPS out (API server, peers' gateways), the webhook in from the API server, each cache
     * consumer to its own database's port, the peer gateway to the API and the Active-Active database,
     * metrics scrapes.
     */
    private networkPolicies(
        name: string,
        args: RedisEnterpriseArgs,
        access: ReturnType<typeof consumerAccess>,
        activeActive: boolean,
        opts: pulumi.CustomResourceOptions,
    ): k8s.networking.v1.NetworkPolicy[] {
        const { cfg } = args.ctx;
        const nodes = nodePodLabels(cfg.region);
        const policy = policiesIn(name, NAMESPACE, opts);
        // Each consumer may reach the port of the database it uses (auth: both sessions databases, so
        // the way back to the regional one stays open).
        const consumerRules: IngressRule[] = args.consumers.map((c) => {
            const a = access.find((x) => x.consumer === c.name)!;
            const ports =
                c.store === "sessions"
                    ? tcp(DATABASES.regionalSessions.port, DATABASES.sessions.port)
                    : tcp(a.database.port);
            return { from: [c.pods], ports };
        });
        return [
            // Operator, node pods and the services rigger talk to each other.
            policy("allow-within-namespace", {
                podSelector: {},
                ingress: [{ from: [SAME_NAMESPACE] }],
                egress: [{ to: [SAME_NAMESPACE] }],
            }),
            // The Kubernetes API server and the peers' (and, for the RERC health check, our own) gateway
            // addresses are not selectable by labels: HTTPS only, by port.
            policy("allow-https-egress", { podSelector: {}, egress: [{ to: [anyAddress()], ports: tcp(443, 6443) }] }),
            policy("allow-admission-webhook", {
                podSelector: { name: "redis-enterprise-operator" },
                ingress: [{ from: [anyAddress()], ports: tcp(WEBHOOK_PORT) }],
            }),
            ...(consumerRules.length > 0
                ? [policy("allow-database-clients", { podSelector: nodes, ingress: consumerRules })]
                : []),
            ...(activeActive
                ? [
                      policy(
                          "allow-peer-gateway",
                          {
                              podSelector: nodes,
                              ingress: [
                                  {
                                      from: [namespacePeer(PEER_GATEWAY.namespace, PEER_GATEWAY.podLabels)],
                                      ports: tcp(API_PORT, DATABASES.sessions.port),
                                  },
                              ],
                          },
                          { aliases: [{ name: `${name}-allow-ingress-gateway` }] },
                      ),
                  ]
                : []),
            ...(args.monitoring
                ? [
                      policy("allow-metrics-scrape", {
                          podSelector: nodes,
                          ingress: [{ from: [namespacePeer(args.monitoring.namespace)], ports: tcp(METRICS_PORT) }],
                      }),
                  ]
                : []),
        ];
    }
}
