// Traces that survive a restart, as data: Jaeger v2's configuration (chart `userconfig`) and chart
// values, and in the regions the trace store it writes to, OpenSearch (three nodes, one per zone,
// TLS and a login of its own), with its security configuration and quota. Pure functions, no Pulumi
// resources: ./trace-store.ts and ./index.ts create what these describe, tests check them directly.
//
// Facts used (jaeger chart 4.11.1 = Jaeger 2.19.0, opensearch chart 3.6.0 = OpenSearch 3.6.0): the
// chart runs Jaeger with `--config /etc/jaeger/user-config.yaml` when `userconfig` is set; a storage
// backend is `jaeger_storage.backends.<name>.{badger|opensearch}`; the OpenSearch client reads
// `auth.basic.password_file` (watched) and `tls.ca_file`; `jaeger-es-index-cleaner` reads ES_USERNAME,
// ES_PASSWORD, ES_TLS_ENABLED and ES_TLS_CA. The opensearch chart names its StatefulSet and Service
// `<clusterName>-<nodeGroup>`, labels pods `app.kubernetes.io/{name: opensearch, instance: <release>}`,
// mounts `securityConfig.<file>Secret` at `config/opensearch-security/<file>.yml` and `secretMounts`
// where they say; the security plugin reads PEM certificates and PKCS #8 keys under `config/`.
import { stringify } from "yaml";
import { type PlatformConfig, resourcesFor } from "../../config";
import { parseQuantity } from "../../config/quantity";
import {
    nodeAndZoneSpread,
    placement,
    resourceRequirements,
    restrictedContainerSecurityContext,
    restrictedPodSecurityContext,
    zoneSpread,
} from "../defaults";
import { CHART_PODS } from "../chart-pods";
import { serviceFqdn } from "../hosts";
import { NAMESPACES } from "../names";
import { quotaFor } from "../quota";

const ORGANIZATION = "ecommerce-platform";

/** OpenSearch, the regions' trace store (namespace `tracing`). */
export const TRACE_STORE = {
    namespace: NAMESPACES.tracing,
    release: "opensearch",
    /** clusterName-nodeGroup: StatefulSet and Service `opensearch-master`, pods opensearch-master-0..2. */
    clusterName: "opensearch",
    nodeGroup: "master",
    service: "opensearch-master",
    /** Master-eligible data nodes: a quorum survives one lost node or zone. */
    nodes: 3,
    ports: { http: 9200, transport: 9300 },
    podLabels: CHART_PODS.opensearch.selector,
    /** The image's user (uid and gid 1000). */
    uid: 1000,
    home: "/usr/share/opensearch",
    secrets: {
        /** Node certificate (transport and HTTPS) and key, and the CA: kubernetes.io/tls + ca.crt. */
        nodeTls: "opensearch-node-tls",
        /** The admin client certificate (securityadmin.sh, the runbook's health and config commands). */
        adminTls: "opensearch-admin-tls",
        /** The security plugin's files we replace (SECURITY_FILES), one key each. */
        security: "opensearch-security-config",
    },
    /** Certificate subjects (RFC 2253, as the security plugin compares them). */
    subjects: {
        ca: { commonName: "opensearch-ca", organization: ORGANIZATION },
        node: { commonName: "opensearch-node", organization: ORGANIZATION },
        admin: { commonName: "opensearch-admin", organization: ORGANIZATION },
    },
    /** The internal user Jaeger (and its index cleaner) log in as. */
    jaegerUser: "jaeger",
} as const;

const dn = (s: { commonName: string; organization: string }) => `CN=${s.commonName},O=${s.organization}`;

/** Jaeger (Deployment and Service `jaeger` in the monitoring namespace). */
export const JAEGER = {
    name: "jaeger",
    podLabels: CHART_PODS.jaeger.selector,
    /** The all-in-one pods only (not the index cleaner's). */
    serverLabels: CHART_PODS.jaeger.labels,
    ports: { query: 16686, otlpGrpc: 4317, otlpHttp: 4318, health: 13133, metrics: 8888 },
    /** dev: the Badger volume. */
    badgerClaim: "jaeger-badger",
    badgerPath: "/badger",
    secrets: { ca: "jaeger-opensearch-ca", credentials: "jaeger-opensearch-credentials" },
    mounts: { ca: "/etc/opensearch/ca", credentials: "/etc/opensearch/credentials" },
} as const;

/** Where traces are kept: Badger on a volume (a laptop's single node), or OpenSearch (every other tier). */
export const traceBackend = (cfg: PlatformConfig): "badger" | "opensearch" =>
    cfg.tier === "dev" ? "badger" : "opensearch";

/** The trace store's HTTPS endpoint (the Service, TLS with the store's CA). */
export const traceStoreUrl = () =>
    `https://${serviceFqdn(TRACE_STORE.service, TRACE_STORE.namespace)}:${TRACE_STORE.ports.http}`;

const hours = (days: number) => `${days * 24}h`;
const anyAddress = (port: number) => `0.0.0.0:${port}`;
/** The backend's name in Jaeger's configuration. */
const STORE = "traces";

/**
 * Jaeger v2's configuration (the chart's `userconfig`): OTLP in, batches into the trace store, the
 * query UI and API, health and metrics on the ports the chart's probes, Service and our ServiceMonitor
 * use. Badger keeps spans on the volume for the retention; OpenSearch keeps them replicated (one
 * replica of every shard: another node, another zone) and the index cleaner drops old days.
 */
export function jaegerConfig(cfg: PlatformConfig): Record<string, unknown> {
    const days = cfg.monitoring.traceRetentionDays;
    const p = JAEGER.ports;
    const backend =
        traceBackend(cfg) === "badger"
            ? {
                  badger: {
                      ephemeral: false,
                      directories: { keys: `${JAEGER.badgerPath}/keys`, values: `${JAEGER.badgerPath}/values` },
                      ttl: { spans: hours(days) },
                  },
              }
            : {
                  opensearch: {
                      server_urls: [traceStoreUrl()],
                      tls: { ca_file: `${JAEGER.mounts.ca}/ca.crt` },
                      auth: {
                          basic: {
                              username: TRACE_STORE.jaegerUser,
                              // Watched: a rotated password is picked up without a restart.
                              password_file: `${JAEGER.mounts.credentials}/password`,
                              reload_interval: "30s",
                          },
                      },
                      // Reads look back as far as traces are kept.
                      max_span_age: hours(days),
                      indices: {
                          spans: { shards: TRACE_STORE.nodes, replicas: 1 },
                          services: { shards: 1, replicas: 1 },
                          dependencies: { shards: 1, replicas: 1 },
                          sampling: { shards: 1, replicas: 1 },
                      },
                  },
              };
    return {
        service: {
            extensions: ["jaeger_storage", "jaeger_query", "healthcheckv2"],
            pipelines: {
                traces: { receivers: ["otlp"], processors: ["batch"], exporters: ["jaeger_storage_exporter"] },
            },
            telemetry: {
                resource: { "service.name": "jaeger" },
                metrics: {
                    level: "detailed",
                    readers: [{ pull: { exporter: { prometheus: { host: "0.0.0.0", port: p.metrics } } } }],
                },
                logs: { level: "info" },
            },
        },
        extensions: {
            healthcheckv2: { use_v2: true, http: { endpoint: anyAddress(p.health) } },
            jaeger_query: { storage: { traces: STORE }, http: { endpoint: anyAddress(p.query) } },
            jaeger_storage: { backends: { [STORE]: backend } },
        },
        receivers: {
            otlp: {
                protocols: { grpc: { endpoint: anyAddress(p.otlpGrpc) }, http: { endpoint: anyAddress(p.otlpHttp) } },
            },
        },
        processors: { batch: {} },
        exporters: { jaeger_storage_exporter: { trace_storage: STORE } },
    };
}

/** Jaeger's computed chart values (helm/jaeger.yaml has the static ones). */
export function jaegerValues(cfg: PlatformConfig): Record<string, unknown> {
    const badger = traceBackend(cfg) === "badger";
    const replicas = badger ? 1 : 2;
    const place = placement(cfg);
    const volumes = badger
        ? { volumes: [{ name: "badger", persistentVolumeClaim: { claimName: JAEGER.badgerClaim } }], mounts: [] }
        : {
              volumes: [
                  { name: "opensearch-ca", secret: { secretName: JAEGER.secrets.ca } },
                  { name: "opensearch-credentials", secret: { secretName: JAEGER.secrets.credentials } },
              ],
              mounts: [
                  { name: "opensearch-ca", mountPath: JAEGER.mounts.ca, readOnly: true },
                  { name: "opensearch-credentials", mountPath: JAEGER.mounts.credentials, readOnly: true },
              ],
          };
    return {
        fullnameOverride: JAEGER.name,
        userconfig: jaegerConfig(cfg),
        jaeger: {
            replicas,
            // The Badger volume is ReadWriteOnce and Badger locks it: the old pod stops before the new one starts.
            strategy: badger
                ? { type: "Recreate" }
                : { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
            resources: resourceRequirements(resourcesFor(cfg, "jaeger")),
            ...place,
            ...(replicas > 1
                ? { topologySpreadConstraints: nodeAndZoneSpread(cfg, JAEGER.serverLabels, "ScheduleAnyway") }
                : {}),
            // Lists replace in Helm: the static /tmp scratch volume is repeated here.
            extraVolumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }, ...volumes.volumes],
            extraVolumeMounts: [
                { name: "tmp", mountPath: "/tmp" },
                ...(badger ? [{ name: "badger", mountPath: JAEGER.badgerPath }] : []),
                ...volumes.mounts,
            ],
        },
        ...(badger
            ? {}
            : {
                  // Retention: each night, the days older than traceRetentionDays are deleted.
                  storage: { type: "elasticsearch", elasticsearch: { url: traceStoreUrl() } },
                  esIndexCleaner: {
                      enabled: true,
                      numberOfDays: cfg.monitoring.traceRetentionDays,
                      resources: resourceRequirements(resourcesFor(cfg, "jaeger-index-cleaner")),
                      ...place,
                      extraEnv: [
                          { name: "ES_USERNAME", value: TRACE_STORE.jaegerUser },
                          {
                              name: "ES_PASSWORD",
                              valueFrom: { secretKeyRef: { name: JAEGER.secrets.credentials, key: "password" } },
                          },
                          { name: "ES_TLS_ENABLED", value: "true" },
                          { name: "ES_TLS_CA", value: `${JAEGER.mounts.ca}/ca.crt` },
                      ],
                      extraSecretMounts: [
                          {
                              name: "opensearch-ca",
                              secretName: JAEGER.secrets.ca,
                              mountPath: JAEGER.mounts.ca,
                              subPath: "",
                              readOnly: true,
                          },
                      ],
                  },
              }),
    };
}

/** opensearch.yml: TLS on both layers with the node certificate, the security index from our files. */
export function openSearchConfigFile(): string {
    const certs = (layer: "transport" | "http") => ({
        [`plugins.security.ssl.${layer}.pemcert_filepath`]: "certs/tls.crt",
        [`plugins.security.ssl.${layer}.pemkey_filepath`]: "certs/tls.key",
        [`plugins.security.ssl.${layer}.pemtrustedcas_filepath`]: "certs/ca.crt",
    });
    return stringify({
        "cluster.name": TRACE_STORE.clusterName,
        "network.host": "0.0.0.0",
        // No mmap: the vm.max_map_count bootstrap check would need a privileged sysctl, which "restricted"
        // forbids; index files are read through NIO instead.
        "node.store.allow_mmap": false,
        ...certs("transport"),
        // Node to node: the certificate's DN and our CA identify a node; pods have no stable addresses.
        "plugins.security.ssl.transport.enforce_hostname_verification": false,
        "plugins.security.ssl.http.enabled": true,
        ...certs("http"),
        "plugins.security.nodes_dn": [dn(TRACE_STORE.subjects.node)],
        "plugins.security.authcz.admin_dn": [dn(TRACE_STORE.subjects.admin)],
        // The first start writes the security index from config/opensearch-security/*.yml.
        "plugins.security.allow_default_init_securityindex": true,
        "plugins.security.system_indices.enabled": true,
    });
}

/** The security plugin's files we replace, by their key in securityConfigFiles(). */
export const SECURITY_FILES = {
    config: "config.yml",
    internalUsers: "internal_users.yml",
    roles: "roles.yml",
    rolesMapping: "roles_mapping.yml",
} as const;

/**
 * The security plugin's files we replace (the image's defaults stay for the others): HTTP basic
 * authentication against the internal users only, one user `jaeger` (its password's bcrypt hash)
 * whose role reaches the jaeger-* indices and the index templates Jaeger installs, nothing else.
 * Administration uses the admin certificate (admin_dn), not a password.
 */
export function securityConfigFiles(jaegerPasswordHash: string): Record<keyof typeof SECURITY_FILES, string> {
    const meta = (type: string) => ({ _meta: { type, config_version: 2 } });
    return {
        config: stringify({
            ...meta("config"),
            config: {
                dynamic: {
                    http: { anonymous_auth_enabled: false },
                    authc: {
                        basic_internal_auth_domain: {
                            http_enabled: true,
                            transport_enabled: true,
                            order: 0,
                            http_authenticator: { type: "basic", challenge: true },
                            authentication_backend: { type: "intern" },
                        },
                    },
                },
            },
        }),
        internalUsers: stringify({
            ...meta("internalusers"),
            [TRACE_STORE.jaegerUser]: {
                hash: jaegerPasswordHash,
                reserved: true,
                description: "Jaeger: writes spans, serves queries, deletes expired days",
            },
        }),
        roles: stringify({
            ...meta("roles"),
            jaeger: {
                reserved: true,
                cluster_permissions: ["cluster_monitor", "cluster_composite_ops", "cluster_manage_index_templates"],
                index_permissions: [{ index_patterns: ["jaeger-*"], allowed_actions: ["indices_all"] }],
            },
        }),
        rolesMapping: stringify({
            ...meta("rolesmapping"),
            jaeger: { reserved: true, users: [TRACE_STORE.jaegerUser] },
        }),
    };
}

/**
 * OpenSearch's computed chart values (helm/opensearch.yaml has the static ones): three nodes, one per
 * node and (where the stack spreads) one per zone, each with its volume on the platform's class; the
 * heap half the memory; `restartChecksum` (of the certificates and security files) in the pod
 * template, so a renewed certificate rolls the nodes one at a time (the PDB allows one down).
 */
export function openSearchValues(
    cfg: PlatformConfig,
    storageClass: string,
    restartChecksum: string,
): Record<string, unknown> {
    const size = resourcesFor(cfg, "opensearch");
    const heapMi = Math.floor(parseQuantity(size.limits.memory) / 2 / 2 ** 20);
    return {
        clusterName: TRACE_STORE.clusterName,
        nodeGroup: TRACE_STORE.nodeGroup,
        masterService: TRACE_STORE.service,
        replicas: TRACE_STORE.nodes,
        opensearchJavaOpts: `-Xms${heapMi}m -Xmx${heapMi}m`,
        resources: resourceRequirements(size),
        initResources: resourceRequirements(resourcesFor(cfg, "opensearch-init")),
        persistence: {
            enabled: true,
            // The chart's chown init container runs as root; fsGroup gives the volume to uid 1000 instead.
            enableInitChown: false,
            storageClass,
            size: cfg.monitoring.traceStorage,
            accessModes: ["ReadWriteOnce"],
        },
        // One node per Kubernetes node: a drained node takes one copy of a shard, never both.
        antiAffinity: "hard",
        antiAffinityTopologyKey: "kubernetes.io/hostname",
        ...zoneSpread(cfg, TRACE_STORE.podLabels, "DoNotSchedule"),
        ...placement(cfg),
        podSecurityContext: restrictedPodSecurityContext(TRACE_STORE.uid),
        // The root filesystem stays writable: OpenSearch writes its keystore and logs under its home.
        securityContext: { ...restrictedContainerSecurityContext(false), runAsUser: TRACE_STORE.uid },
        podAnnotations: { "ecommerce-platform.io/restart-checksum": restartChecksum },
        config: { "opensearch.yml": openSearchConfigFile() },
        secretMounts: [
            // TLS material under config/ (the security plugin reads only paths there): certs/ for the node,
            // admin/ for securityadmin.sh and the runbook's commands.
            { name: "node-tls", secretName: TRACE_STORE.secrets.nodeTls, path: `${TRACE_STORE.home}/config/certs` },
            { name: "admin-tls", secretName: TRACE_STORE.secrets.adminTls, path: `${TRACE_STORE.home}/config/admin` },
            // The security plugin's files we replace, one by one (the image's defaults stay for the others).
            ...Object.entries(SECURITY_FILES).map(([id, file]) => ({
                name: `security-${id}`,
                secretName: TRACE_STORE.secrets.security,
                path: `${TRACE_STORE.home}/config/opensearch-security/${file}`,
                subPath: file,
            })),
        ],
    };
}

/**
 * The tracing namespace's quota: every node at once (a StatefulSet rolls without surge), their
 * volumes, no load balancer or node port.
 */
export function traceStoreQuota(cfg: PlatformConfig): Record<string, string> {
    return quotaFor(
        [
            {
                workload: "opensearch",
                pods: TRACE_STORE.nodes,
                containers: [resourcesFor(cfg, "opensearch")],
                initContainers: [resourcesFor(cfg, "opensearch-init")],
            },
        ],
        {
            persistentVolumeClaims: TRACE_STORE.nodes,
            storage: TRACE_STORE.nodes * parseQuantity(cfg.monitoring.traceStorage),
            loadBalancers: 0,
            nodePorts: 0,
        },
    );
}
