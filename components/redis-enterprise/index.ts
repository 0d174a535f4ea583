// Redis Enterprise (issue 4 §3): the operator, a RedisEnterpriseCluster per region, a
// RedisEnterpriseRemoteCluster (with its credentials Secret) for every participating region, and the
// Active-Active database the shop and the core services use for cache and sessions.
//
// Order: namespace -> operator release (installs the CRDs from a hook Job and the admission webhook,
// and waits for the operator) -> admin Secret -> REC (waits until Running) -> RERCs -> database.
// Peers come from stack references (components/peers.ts); plan.ts decides what this region creates.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { type PlatformConfig, resourcesFor } from "../../config";
import { redisReplicationGroup } from "../alerts";
import type {
    CacheEndpoint,
    EgressRule,
    IngressRule,
    LayerReport,
    MeshContract,
    MonitoringContract,
    Peer,
    PublishedForPeers,
    StackContext,
    StorageContract,
} from "../contracts";
import { CHARTS, chartValues, pinnedRelease } from "../helm";
import { publicHosts, serviceFqdn } from "../hosts";
import { partLabels } from "../labels";
import { HardenedNamespace } from "../namespace";
import { anyAddress, namespacePeer, networkPolicy, tcp } from "../network";
import type { PeerRegions } from "../peers";
import {
    API_PORT,
    DATABASE,
    DATABASE_PORT,
    DATABASE_SECRET,
    METRICS_PORT,
    NAMESPACE,
    WEBHOOK_PORT,
    localCluster,
    nodePodLabels,
    planRedis,
    recName,
    rercSecretName,
} from "./plan";

/** Namespace label the chart's ValidatingWebhookConfiguration selects (admission.limitToNamespace). */
const ADMISSION_NAMESPACE_LABEL = "redis.io/redisenterprise.admission.enable";

export interface RedisEnterpriseArgs {
    ctx: StackContext;
    peers: PeerRegions;
    /** The mesh: peers reach the cluster through its ingress gateway. */
    mesh: MeshContract;
    monitoring?: MonitoringContract;
    /** The StorageClass the cluster nodes' persistent volumes name. */
    storage: StorageContract;
    /** Application pods that use the database (NetworkPolicy ingress on the database port). */
    clients: Peer[];
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

/** The RedisEnterpriseCluster spec for this region. */
export function clusterSpec(cfg: PlatformConfig, username: string, storageClassName: string): Record<string, unknown> {
    const r = cfg.redisEnterprise;
    const hosts = publicHosts(cfg);
    const s = cfg.scheduling;
    const node = resourcesFor(cfg, "redis-enterprise-node");
    return {
        nodes: r.nodes,
        username,
        // Our Secret (created first), so the credentials are known to this program and its peers.
        clusterCredentialSecretName: recName(cfg.region),
        // requests == limits: Redis Enterprise nodes should run with Guaranteed QoS.
        redisEnterpriseNodeResources: {
            requests: { cpu: node.requests.cpu, memory: node.requests.memory },
            limits: { cpu: node.requests.cpu, memory: node.requests.memory },
        },
        persistentSpec: { enabled: true, volumeSize: r.storageSize, storageClassName },
        // Peers reach the cluster API and the database replication endpoints through the Istio
        // ingress gateway (TLS passthrough, routed by SNI); the operator creates the Istio routing.
        ingressOrRouteSpec: { method: "istio", apiFqdnUrl: hosts.redisApi, dbFqdnSuffix: hosts.redisDbSuffix },
        // No SYS_RESOURCE capability: node containers drop ALL capabilities and cannot escalate.
        securityContext: { resourceLimits: { allowAutoAdjustment: false } },
        uiServiceType: "ClusterIP",
        ...(Object.keys(s.nodeSelector).length > 0 ? { nodeSelector: { ...s.nodeSelector } } : {}),
        ...(s.tolerations.length > 0 ? { podTolerations: s.tolerations.map((t) => ({ ...t })) } : {}),
    };
}

export class RedisEnterprise extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    /** The Active-Active database, once it exists in this region (undefined while its links are pending). */
    public readonly cache?: CacheEndpoint;
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

        // Allows first: the CRD hook Job and the operator call the API server from the first second.
        const allows = this.networkPolicies(name, args, inNamespace);

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
        // before the REC so the operator adopts them (and peers can be given them).
        const username = `platform-admin@${cfg.domain}`;
        const adminPassword = pulumi.secret(
            new random.RandomPassword(`${name}-admin-password`, { length: 32, special: false }, { parent: this })
                .result,
        );
        const adminSecret = new k8s.core.v1.Secret(
            `${name}-admin-credentials`,
            {
                metadata: { name: rec, namespace: NAMESPACE, labels },
                type: "Opaque",
                stringData: { username: pulumi.secret(username), password: adminPassword },
            },
            inNamespace,
        );

        this.cluster = new k8s.apiextensions.CustomResource(
            `${name}-cluster`,
            {
                apiVersion: "app.redislabs.com/v1",
                kind: "RedisEnterpriseCluster",
                metadata: {
                    name: rec,
                    namespace: NAMESPACE,
                    labels,
                    // Later steps need a running cluster, not just an accepted object.
                    annotations: { "pulumi.com/waitFor": "jsonpath={.status.state}=Running" },
                },
                spec: clusterSpec(cfg, username, args.storage.className),
            },
            {
                ...o,
                dependsOn: [this.operator, adminSecret, ...mesh.ready],
                customTimeouts: { create: "40m", update: "40m", delete: "20m" },
                protect: production,
            },
        );

        // Peer wiring.
        const local = localCluster(cfg, username, adminPassword);
        const plan = planRedis(cfg, args.peers.peers, local);

        const rercs = plan.participants.map((p) => {
            const secret = new k8s.core.v1.Secret(
                `${name}-${p.rerc}-credentials`,
                {
                    metadata: { name: rercSecretName(p.rerc), namespace: NAMESPACE, labels },
                    type: "Opaque",
                    stringData: { username: pulumi.secret(p.username), password: pulumi.secret(p.password) },
                },
                inNamespace,
            );
            return new k8s.apiextensions.CustomResource(
                `${name}-${p.rerc}`,
                {
                    apiVersion: "app.redislabs.com/v1alpha1",
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
                    dependsOn: [this.operator, this.cluster, secret],
                    customTimeouts: { create: "10m", update: "10m" },
                },
            );
        });

        // The database password: the same in every participating region (the owner generates it).
        const src = plan.passwordSource;
        const databasePassword =
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
        const databaseSecret =
            databasePassword &&
            new k8s.core.v1.Secret(
                `${name}-database-credentials`,
                {
                    metadata: { name: DATABASE_SECRET, namespace: NAMESPACE, labels },
                    type: "Opaque",
                    stringData: { password: databasePassword },
                },
                inNamespace,
            );

        const settings = {
            memorySize: cfg.redisEnterprise.databaseMemory,
            replication: true,
            shardCount: 1,
            databasePort: DATABASE_PORT,
            databaseSecretName: DATABASE_SECRET,
            // Replication between regions is TLS (it crosses the internet through the gateways, routed
            // by SNI); clients in the cluster connect without TLS, limited by NetworkPolicy.
            tlsMode: plan.mode === "regional" ? "disabled" : "replica_ssl",
            // Sessions survive a restart of every node.
            persistence: "aofEverySecond",
        };
        let database: k8s.apiextensions.CustomResource | undefined;
        if (plan.createDatabase && databaseSecret) {
            const databaseOpts = {
                ...o,
                dependsOn: [this.operator, this.cluster, ...rercs, databaseSecret],
                customTimeouts: { create: "20m", update: "20m", delete: "20m" },
                protect: production,
            };
            database =
                plan.mode === "regional"
                    ? new k8s.apiextensions.CustomResource(
                          `${name}-database`,
                          {
                              apiVersion: "app.redislabs.com/v1alpha1",
                              kind: "RedisEnterpriseDatabase",
                              metadata: { name: DATABASE, namespace: NAMESPACE, labels },
                              spec: { redisEnterpriseCluster: { name: rec }, ...settings },
                          },
                          databaseOpts,
                      )
                    : new k8s.apiextensions.CustomResource(
                          `${name}-database`,
                          {
                              apiVersion: "app.redislabs.com/v1alpha1",
                              kind: "RedisEnterpriseActiveActiveDatabase",
                              metadata: { name: DATABASE, namespace: NAMESPACE, labels },
                              spec: {
                                  participatingClusters: plan.participants.map((p) => ({ name: p.rerc })),
                                  globalConfigurations: settings,
                              },
                          },
                          databaseOpts,
                      );
        }

        // The operator names the database's Service after the database, on the database port.
        const localHost = serviceFqdn(DATABASE, NAMESPACE);
        if (plan.databaseAvailable && databasePassword) {
            this.cache = {
                host: database ? database.metadata.apply(() => localHost) : localHost,
                port: DATABASE_PORT,
                password: databasePassword,
                tls: false,
                namespace: NAMESPACE,
                podSelector: nodePodLabels(cfg.region),
            };
        }

        // The cluster's Prometheus endpoint: the operator's <rec>-prom Service, port "prometheus"
        // (8070, HTTPS with the cluster's self-signed certificate).
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
                    tlsConfig: { insecureSkipVerify: true },
                    alerts: { http: false, container: "redis-enterprise-node" },
                },
                this,
            );
        }

        const publish: NonNullable<PublishedForPeers["redis"]> = {
            recName: local.recName,
            recNamespace: local.recNamespace,
            apiFqdnUrl: local.apiFqdnUrl,
            dbFqdnSuffix: local.dbFqdnSuffix,
            username,
            // Pulumi resolves outputs nested in stack outputs; these stay secrets in the peers' reads.
            password: adminPassword as unknown as string,
            ...(plan.mode === "owner" && databasePassword
                ? { databasePassword: databasePassword as unknown as string }
                : {}),
            ...(plan.mode === "owner" && database
                ? { activeActiveDatabase: database.metadata.apply((m) => m.name) as unknown as string }
                : {}),
        };
        this.report.publish = { redis: publish };
        this.report.pending = plan.pending;
        this.report.endpoints = {
            redisEnterpriseApi: `https://${local.apiFqdnUrl}`,
            ...(this.cache ? { redisEnterpriseDatabase: `${localHost}:${DATABASE_PORT}` } : {}),
        };
        this.report.portForward = {
            redisEnterpriseUi: `kubectl port-forward svc/${rec}-ui 8443:8443 -n ${NAMESPACE}`,
        };
        this.registerOutputs({ cluster: this.cluster.metadata, pending: plan.pending });
    }

    /**
     * Explicit allows on top of the namespace's default-deny: within the namespace (operator, nodes,
     * rigger), HTTPS out (API server, peers' gateways), the webhook in from the API server, database
     * clients from the application namespaces, peers through the ingress gateway, metrics scrapes.
     */
    private networkPolicies(
        name: string,
        args: RedisEnterpriseArgs,
        opts: pulumi.CustomResourceOptions,
    ): k8s.networking.v1.NetworkPolicy[] {
        const { cfg } = args.ctx;
        const nodes = nodePodLabels(cfg.region);
        const policy = (
            policyName: string,
            a: { podSelector: Record<string, string>; ingress?: IngressRule[]; egress?: EgressRule[] },
        ) => networkPolicy(`${name}-${policyName}`, { namespace: NAMESPACE, name: policyName, ...a }, opts);
        return [
            // Operator, node pods and the services rigger talk to each other.
            policy("allow-within-namespace", {
                podSelector: {},
                ingress: [{ from: [{ podSelector: {} }] }],
                egress: [{ to: [{ podSelector: {} }] }],
            }),
            // The Kubernetes API server and the peers' (and, for the RERC health check, our own) gateway
            // addresses are not selectable by labels: HTTPS only, by port.
            policy("allow-https-egress", { podSelector: {}, egress: [{ to: [anyAddress()], ports: tcp(443, 6443) }] }),
            policy("allow-admission-webhook", {
                podSelector: { name: "redis-enterprise-operator" },
                ingress: [{ from: [anyAddress()], ports: tcp(WEBHOOK_PORT) }],
            }),
            ...(args.clients.length > 0
                ? [
                      policy("allow-database-clients", {
                          podSelector: nodes,
                          ingress: [{ from: args.clients, ports: tcp(DATABASE_PORT) }],
                      }),
                  ]
                : []),
            policy("allow-ingress-gateway", {
                podSelector: nodes,
                ingress: [{ from: args.mesh.gatewayPeers, ports: tcp(API_PORT, DATABASE_PORT) }],
            }),
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
