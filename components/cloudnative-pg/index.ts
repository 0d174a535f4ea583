// PostgreSQL on CloudNativePG (issue 12 §1): the operator and its Barman Cloud backup plugin in
// their own namespace (cnpg-system), and in namespace `databases` a Cluster of instances spread over
// zones with synchronous standbys, the shop's and payment's databases and roles (passwords generated,
// held as Pulumi secrets), continuous WAL archiving and daily base backups to object storage with a
// retention policy, and its monitoring. Clients get the endpoint contract (components/contracts.ts),
// never the engine.
//
// Order: namespaces and their allows -> operator release (CRDs, webhooks) and, beside it, the plugin
// release (needs cert-manager; its manager watches only its own ObjectStores) -> role Secrets,
// ObjectStore -> Cluster (waits until Ready, after both) -> Database, ScheduledBackup. Neither release
// waits for monitoring: the operator's PodMonitor is an object of ours, after the monitoring CRDs, so
// a first deploy runs the database chain beside the monitoring stack, not after it.
import { CHART_PODS } from "../chart-pods";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { backupCredentials } from "../../config";
import type {
    DatabaseAccess,
    DatabaseEndpoint,
    DatabaseLogin,
    LayerReport,
    MonitoringContract,
    Peer,
    ShopDatabase,
    StackContext,
    StorageContract,
} from "../contracts";
import { CHARTS, chartValues, pinnedRelease } from "../helm";
import { partLabels } from "../labels";
import { DATABASES } from "../names";
import { CONTAINER_DEFAULTS, HardenedNamespace } from "../namespace";
import { anyAddress, namespacePeer, podPeer, policiesIn, tcp } from "../network";
import {
    API_VERSION,
    BACKUP_CREDENTIALS_SECRET,
    CLUSTER,
    clusterAlerts,
    clusterSpec,
    databasesQuota,
    HOSTS,
    LABELS,
    NAMESPACE,
    OBJECT_STORE,
    OBJECT_STORE_API_VERSION,
    objectStoreSpec,
    OPERATOR_NAMESPACE,
    operatorValues,
    paymentDatabaseSpec,
    pluginValues,
    PORTS,
    ROLE_SECRETS,
    SCHEDULED_BACKUP,
    scheduledBackupSpec,
} from "./plan";

/** API server ports: its address is not portable (managed control planes), so these are port-scoped. */
const API_SERVER_PORTS = [443, 6443];

export interface CloudNativePgArgs {
    ctx: StackContext;
    /** The StorageClass of the instances' data and WAL volumes. */
    storage: StorageContract;
    monitoring?: MonitoringContract;
    /** cert-manager and its issuer: the backup plugin's certificates come from it. */
    certificates: pulumi.Resource[];
    /** Pods that use the shop's database (backend, worker, migration). */
    shopClients: Peer[];
    /** Pods that keep payment's ledger here; undefined = no payment database. */
    paymentClients?: Peer[];
}

export class CloudNativePg extends pulumi.ComponentResource {
    public readonly report: LayerReport = {};
    /** The shop's database with its app and migration logins. */
    public readonly shop: ShopDatabase;
    /** Payment's ledger, when its clients were given. */
    public readonly payment?: DatabaseAccess;
    public readonly cluster: k8s.apiextensions.CustomResource;

    constructor(name: string, args: CloudNativePgArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:CloudNativePg", name, {}, opts);
        const { ctx } = args;
        const { cfg, provider } = ctx;
        const o = { parent: this, provider };
        const production = cfg.tier === "production";
        // Production data: `pulumi destroy` or a removed line stops instead of deleting it.
        const keep = { protect: production, retainOnDelete: production };
        const labels = partLabels("postgres");
        const payment = args.paymentClients !== undefined;

        // ---- The operator's namespace: the operator and the plugin, fenced (default-deny + their flows).
        const operatorNs = new HardenedNamespace(
            `${name}-operator-namespace`,
            { ctx, name: OPERATOR_NAMESPACE, podSecurity: "restricted", labels },
            { parent: this },
        );
        const operatorAllows = this.operatorPolicies(name, args, { ...o, dependsOn: [operatorNs.namespace] });
        const operator = pinnedRelease(
            `${name}-operator`,
            {
                ctx,
                chart: CHARTS.cloudnativePg,
                releaseName: "cnpg",
                namespace: OPERATOR_NAMESPACE,
                values: chartValues("cloudnative-pg.yaml", operatorValues(cfg)),
                timeoutSeconds: 600,
            },
            { parent: this, dependsOn: [operatorNs.namespace, ...operatorAllows] },
        );
        const plugin = pinnedRelease(
            `${name}-backup-plugin`,
            {
                ctx,
                chart: CHARTS.barmanCloudPlugin,
                // Fixed: the chart names its Deployment and pod labels after it (LABELS.plugin).
                releaseName: "plugin-barman-cloud",
                namespace: OPERATOR_NAMESPACE,
                values: chartValues("plugin-barman-cloud.yaml", pluginValues(cfg)),
                timeoutSeconds: 600,
            },
            { parent: this, dependsOn: [operatorNs.namespace, ...operatorAllows, ...args.certificates] },
        );

        // ---- The databases' namespace.
        const ns = new HardenedNamespace(
            `${name}-namespace`,
            {
                ctx,
                name: NAMESPACE,
                podSecurity: "restricted",
                labels,
                quota: databasesQuota(cfg),
                // For a container the operator or the plugin adds without resources (the quota needs them).
                containerDefaults: CONTAINER_DEFAULTS,
            },
            { parent: this, ...keep },
        );
        const inNs = { ...o, dependsOn: [ns.namespace] };
        const allows = this.clusterPolicies(name, args, inNs);

        // ---- Roles: generated passwords, in the basic-auth Secrets the operator reconciles roles from.
        const login = (id: keyof typeof ROLE_SECRETS, username: string): DatabaseLogin => {
            const password = pulumi.secret(
                new random.RandomPassword(`${name}-${id}-password`, { length: 32, special: false }, { parent: this })
                    .result,
            );
            new k8s.core.v1.Secret(
                `${name}-${id}-credentials`,
                {
                    metadata: {
                        name: ROLE_SECRETS[id],
                        namespace: NAMESPACE,
                        // The operator re-applies a changed password (rotation = replace the RandomPassword).
                        labels: { ...labels, "cnpg.io/reload": "true" },
                    },
                    type: "kubernetes.io/basic-auth",
                    stringData: { username: pulumi.secret(username), password },
                },
                inNs,
            );
            return { username, password };
        };
        const { shop } = DATABASES;
        const migration = login("migration", shop.roles.migration);
        const app = login("app", shop.roles.app);
        const paymentLogin = payment ? login("payment", DATABASES.payment.roles.owner) : undefined;

        // ---- Where backups go.
        const credentials = backupCredentials();
        const backupSecret = credentials
            ? [
                  new k8s.core.v1.Secret(
                      `${name}-backup-credentials`,
                      {
                          metadata: { name: BACKUP_CREDENTIALS_SECRET, namespace: NAMESPACE, labels },
                          type: "Opaque",
                          stringData: credentials,
                      },
                      inNs,
                  ),
              ]
            : [];
        const store = new k8s.apiextensions.CustomResource(
            `${name}-object-store`,
            {
                apiVersion: OBJECT_STORE_API_VERSION,
                kind: "ObjectStore",
                metadata: { name: OBJECT_STORE, namespace: NAMESPACE, labels },
                spec: objectStoreSpec(cfg),
            },
            { ...o, dependsOn: [plugin, ns.namespace, ...backupSecret], ...keep },
        );

        this.cluster = new k8s.apiextensions.CustomResource(
            `${name}-cluster`,
            {
                apiVersion: API_VERSION,
                kind: "Cluster",
                metadata: {
                    name: CLUSTER,
                    namespace: NAMESPACE,
                    labels,
                    // Clients (the migration Job first) start once the primary and its standbys are up.
                    annotations: { "pulumi.com/waitFor": "condition=Ready" },
                },
                spec: clusterSpec(cfg, args.storage.className, payment),
            },
            {
                ...o,
                dependsOn: [operator, plugin, store, ...allows, ...backupSecret],
                customTimeouts: { create: "30m", update: "30m", delete: "10m" },
                ...keep,
            },
        );
        const ready: pulumi.Resource[] = [this.cluster];

        new k8s.apiextensions.CustomResource(
            `${name}-daily-backup`,
            {
                apiVersion: API_VERSION,
                kind: "ScheduledBackup",
                metadata: { name: SCHEDULED_BACKUP, namespace: NAMESPACE, labels },
                spec: scheduledBackupSpec(cfg),
            },
            { ...o, dependsOn: [this.cluster] },
        );

        const endpoint = (database: string, extraReady: pulumi.Resource[] = []): DatabaseEndpoint => ({
            host: HOSTS.readWrite,
            readOnlyHost: HOSTS.readOnly,
            port: PORTS.postgres,
            database,
            // The instances serve TLS (operator-issued certificates) and pg_hba admits our roles over TLS only.
            sslMode: "require",
            namespace: NAMESPACE,
            podSelector: { ...LABELS.instances },
            ready: [...ready, ...extraReady],
        });
        this.shop = { endpoint: endpoint(shop.name), app, migration };
        if (paymentLogin) {
            const ledger = new k8s.apiextensions.CustomResource(
                `${name}-payments-database`,
                {
                    apiVersion: API_VERSION,
                    kind: "Database",
                    metadata: {
                        name: DATABASES.payment.name,
                        namespace: NAMESPACE,
                        labels,
                        annotations: { "pulumi.com/waitFor": "jsonpath={.status.applied}=true" },
                    },
                    spec: paymentDatabaseSpec(),
                },
                { ...o, dependsOn: [this.cluster], customTimeouts: { create: "10m", update: "10m" }, ...keep },
            );
            this.payment = { endpoint: endpoint(DATABASES.payment.name, [ledger]), login: paymentLogin };
        }

        // ---- Monitoring: the operator's and the instances' exporters, alerts on replication, failover,
        // archiving and backup age.
        if (args.monitoring) {
            new k8s.apiextensions.CustomResource(
                `${name}-operator-pod-monitor`,
                {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "PodMonitor",
                    metadata: { name: "cnpg-operator", namespace: OPERATOR_NAMESPACE, labels },
                    spec: {
                        selector: { matchLabels: { ...CHART_PODS.cnpgOperator.labels } },
                        namespaceSelector: { matchNames: [OPERATOR_NAMESPACE] },
                        podMetricsEndpoints: [{ port: "metrics" }],
                    },
                },
                { ...o, dependsOn: [args.monitoring.crds, operatorNs.namespace] },
            );
            new k8s.apiextensions.CustomResource(
                `${name}-pod-monitor`,
                {
                    apiVersion: "monitoring.coreos.com/v1",
                    kind: "PodMonitor",
                    metadata: { name: CLUSTER, namespace: NAMESPACE, labels },
                    spec: {
                        selector: { matchLabels: { ...LABELS.instances } },
                        namespaceSelector: { matchNames: [NAMESPACE] },
                        podMetricsEndpoints: [{ port: "metrics", interval: "30s" }],
                    },
                },
                { ...o, dependsOn: [args.monitoring.crds, ns.namespace] },
            );
            args.monitoring.alertRules(
                `${name}-alerts`,
                { namespace: NAMESPACE, ruleName: "postgres-alerts", groups: [clusterAlerts(cfg)] },
                this,
            );
        }

        this.report = {
            endpoints: {
                postgres: `${HOSTS.readWrite}:${PORTS.postgres}`,
                postgresReadOnly: `${HOSTS.readOnly}:${PORTS.postgres}`,
            },
            portForward: {
                postgresStatus: `kubectl cnpg status ${CLUSTER} -n ${NAMESPACE}`,
                postgresBackups: `kubectl get backups,scheduledbackups -n ${NAMESPACE}`,
            },
        };
        this.registerOutputs({ cluster: this.cluster.metadata });
    }

    /** cnpg-system: the operator and the plugin talk to the API server, each other and the instances. */
    private operatorPolicies(
        name: string,
        args: CloudNativePgArgs,
        opts: pulumi.CustomResourceOptions,
    ): k8s.networking.v1.NetworkPolicy[] {
        const policy = policiesIn(name, OPERATOR_NAMESPACE, opts);
        return [
            // Both watch and write the API (the operator its Clusters, the plugin its ObjectStores and Secrets).
            policy("allow-api-server-egress", {
                podSelector: {},
                egress: [{ to: [anyAddress()], ports: tcp(...API_SERVER_PORTS) }],
            }),
            // The API server calls the operator's webhooks; its address has no selector: that port only.
            policy("allow-webhook-from-api-server", {
                podSelector: { ...LABELS.operator },
                ingress: [{ from: [anyAddress()], ports: tcp(PORTS.webhook) }],
            }),
            // The operator calls the plugin (gRPC, mutual TLS) and every instance manager's status endpoint.
            policy("allow-operator-calls", {
                podSelector: { ...LABELS.operator },
                egress: [
                    { to: [podPeer(LABELS.plugin)], ports: tcp(PORTS.plugin) },
                    { to: [namespacePeer(NAMESPACE, { ...LABELS.cluster })], ports: tcp(PORTS.status) },
                ],
            }),
            policy("allow-plugin-from-operator", {
                podSelector: { ...LABELS.plugin },
                ingress: [{ from: [podPeer(LABELS.operator)], ports: tcp(PORTS.plugin) }],
            }),
            ...(args.monitoring
                ? [
                      policy("allow-metrics-scrape", {
                          podSelector: { ...LABELS.operator },
                          ingress: [
                              { from: [namespacePeer(args.monitoring.namespace)], ports: tcp(PORTS.operatorMetrics) },
                          ],
                      }),
                  ]
                : []),
        ];
    }

    /** databases: instances replicate among themselves, answer the operator, clients, Prometheus; reach the API and the store. */
    private clusterPolicies(
        name: string,
        args: CloudNativePgArgs,
        opts: pulumi.CustomResourceOptions,
    ): k8s.networking.v1.NetworkPolicy[] {
        const policy = policiesIn(name, NAMESPACE, opts);
        const cluster = { ...LABELS.cluster };
        const clients = [...args.shopClients, ...(args.paymentClients ?? [])];
        return [
            // Streaming replication and the instance managers (and the bootstrap/join Jobs) between each other.
            policy("allow-within-cluster", {
                podSelector: cluster,
                ingress: [
                    { from: [{ podSelector: { matchLabels: cluster } }], ports: tcp(PORTS.postgres, PORTS.status) },
                ],
                egress: [{ to: [{ podSelector: { matchLabels: cluster } }], ports: tcp(PORTS.postgres, PORTS.status) }],
            }),
            policy("allow-operator", {
                podSelector: cluster,
                ingress: [
                    { from: [namespacePeer(OPERATOR_NAMESPACE, { ...LABELS.operator })], ports: tcp(PORTS.status) },
                ],
            }),
            // The instance manager watches its Cluster; the backup sidecar writes to the object store
            // (HTTPS; its address is the cloud's, not known here).
            policy("allow-api-server-and-object-store-egress", {
                podSelector: cluster,
                egress: [{ to: [anyAddress()], ports: tcp(...API_SERVER_PORTS) }],
            }),
            ...(clients.length > 0
                ? [
                      policy("allow-database-clients", {
                          podSelector: cluster,
                          ingress: [{ from: clients, ports: tcp(PORTS.postgres) }],
                      }),
                  ]
                : []),
            ...(args.monitoring
                ? [
                      policy("allow-metrics-scrape", {
                          podSelector: cluster,
                          ingress: [{ from: [namespacePeer(args.monitoring.namespace)], ports: tcp(PORTS.metrics) }],
                      }),
                  ]
                : []),
        ];
    }
}
