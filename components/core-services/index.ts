// The e-commerce core services in namespace `ecommerce`: product-catalog, payment, recommendation and
// auth by default (cfg.services), each one CoreService built from its flows (config) and its
// description (./catalog.ts), all running the reference service (apps/service.js) on the node image.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { type PlatformConfig, parseQuantity, type Resources, resourcesFor } from "../../config";
import type {
    CacheConsumer,
    CacheEndpoint,
    DatabaseAccess,
    LayerReport,
    MeshContract,
    MonitoringContract,
    StackContext,
} from "../contracts";
import type { FlowTable } from "../flows";
import { serviceFqdn } from "../hosts";
import { partLabels, selectorLabels } from "../labels";
import { NAMESPACES } from "../names";
import { CONTAINER_DEFAULTS, HardenedNamespace } from "../namespace";
import { namespacePeer } from "../network";
import { descriptionOf } from "./catalog";
import { CoreService, PART_OF, SERVICE_PORT } from "./service";

/** Namespace of the core services (runbooks: `kubectl ... -n ecommerce`). */
export const NAMESPACE = NAMESPACES.coreServices;
const RUNTIME = path.resolve(__dirname, "..", "..", "apps", "service.js");

export interface CoreServicesArgs {
    ctx: StackContext;
    mesh?: MeshContract;
    monitoring?: MonitoringContract;
    /** Each service's own cache endpoint, by service name (those of cacheConsumers()). */
    caches: Record<string, CacheEndpoint>;
    /** Payment's login on the transactional PostgreSQL (the shop's), when that runs. */
    transactionDatabase?: DatabaseAccess;
    /** Who calls whom: every NetworkPolicy and AuthorizationPolicy of the namespace comes from it. */
    flows: FlowTable;
}

/**
 * Quota of the namespace: every service at its autoscaling maximum plus one surge pod during a
 * rolling update, with the sidecar when injected, and 25% headroom. Limits are not capped here:
 * the sidecar's limits are the mesh layer's choice.
 */
export function namespaceQuota(cfg: PlatformConfig, sidecar?: Resources): Record<string, string> {
    let cpu = 0;
    let memory = 0;
    let pods = 0;
    for (const s of cfg.services) {
        const r = resourcesFor(cfg, s.name);
        const n = (s.autoscaling?.maxReplicas ?? s.replicas) + 1;
        cpu += n * (parseQuantity(r.requests.cpu) + (sidecar ? parseQuantity(sidecar.requests.cpu) : 0));
        memory += n * (parseQuantity(r.requests.memory) + (sidecar ? parseQuantity(sidecar.requests.memory) : 0));
        pods += n;
    }
    return {
        "requests.cpu": `${Math.ceil(cpu * 1.25 * 10) * 100}m`,
        "requests.memory": `${Math.ceil((memory * 1.25) / 2 ** 26) * 64}Mi`,
        pods: String(Math.ceil(pods * 1.25)),
    };
}

/**
 * Component types the four services had before they became data (one CoreService each): aliases keep
 * their resources' URNs, so `pulumi up` on a stack deployed before updates them in place.
 */
const FORMER_TYPES: Record<string, string> = {
    "product-catalog": "ecommerce:platform:ProductCatalog",
    payment: "ecommerce:platform:Payment",
    recommendation: "ecommerce:platform:Recommendation",
    auth: "ecommerce:platform:Auth",
};

/**
 * The services that use a cache, as cache consumers: each logs in on its own, and auth (the service
 * that keeps sessions) gets a sessions database of its own.
 */
export function cacheConsumers(cfg: PlatformConfig): CacheConsumer[] {
    return cfg.services
        .filter((s) => s.cache)
        .map((s) => ({
            name: s.name,
            store: descriptionOf(s.name).sessions ? "sessions" : "cache",
            pods: namespacePeer(NAMESPACE, selectorLabels(s.name)),
        }));
}

export class CoreServices extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    public readonly namespace = NAMESPACE;
    public readonly services: CoreService[] = [];

    constructor(name: string, args: CoreServicesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:CoreServices", name, {}, opts);
        const { ctx, mesh, monitoring } = args;
        const { cfg, provider } = ctx;
        const o = { parent: this, provider };

        const ns = new HardenedNamespace(
            `${name}-namespace`,
            {
                ctx,
                name: NAMESPACE,
                podSecurity: "restricted",
                istioInjection: !!mesh,
                sidecarStatsScrapedFrom: monitoring?.namespace,
                platformEgress: mesh?.workloadEgress,
                quota: namespaceQuota(cfg, mesh?.proxyResources),
                containerDefaults: CONTAINER_DEFAULTS,
            },
            { parent: this },
        );

        const code = fs.readFileSync(RUNTIME, "utf8");
        const runtime = new k8s.core.v1.ConfigMap(
            `${name}-app-runtime`,
            {
                metadata: { name: "app-runtime", namespace: NAMESPACE, labels: partLabels(PART_OF) },
                data: { "service.js": code },
            },
            { ...o, dependsOn: [ns] },
        );
        const dependsOn: pulumi.Resource[] = [ns, runtime];

        // Each service's cache login, copied into this namespace so its pods reference it by Secret name,
        // and the CA of the cache's server certificate.
        const cacheOf = (service: string) => {
            const endpoint = args.caches[service];
            if (!endpoint) return undefined;
            const labels = partLabels(PART_OF, selectorLabels(service));
            const secret = new k8s.core.v1.Secret(
                `${name}-${service}-cache-credentials`,
                {
                    metadata: { name: `${service}-cache`, namespace: NAMESPACE, labels },
                    type: "Opaque",
                    stringData: {
                        ...(endpoint.username ? { username: pulumi.secret(endpoint.username) } : {}),
                        password: pulumi.secret(endpoint.password),
                    },
                },
                { ...o, dependsOn: [ns] },
            );
            const ca =
                endpoint.tls && endpoint.caCertificate
                    ? new k8s.core.v1.ConfigMap(
                          `${name}-${service}-cache-ca`,
                          {
                              metadata: { name: `${service}-cache-ca`, namespace: NAMESPACE, labels },
                              data: { "ca.crt": endpoint.caCertificate },
                          },
                          { ...o, dependsOn: [ns] },
                      )
                    : undefined;
            return {
                cache: {
                    endpoint,
                    secretName: `${service}-cache`,
                    caConfigMap: ca ? `${service}-cache-ca` : undefined,
                },
                dependsOn: [secret, ...(ca ? [ca] : [])],
            };
        };

        const checksum = crypto.createHash("sha256").update(code).digest("hex");
        for (const config of cfg.services) {
            const cache = config.cache ? cacheOf(config.name) : undefined;
            this.services.push(
                new CoreService(
                    `${name}-${config.name}`,
                    {
                        ctx,
                        namespace: NAMESPACE,
                        config,
                        description: descriptionOf(config.name),
                        flows: args.flows,
                        runtime: { configMap: "app-runtime", checksum },
                        cache: cache?.cache,
                        mesh,
                        monitoring,
                        transactionDatabase: args.transactionDatabase,
                        dependsOn: [...dependsOn, ...(cache?.dependsOn ?? [])],
                    },
                    { parent: this, aliases: FORMER_TYPES[config.name] ? [{ type: FORMER_TYPES[config.name] }] : [] },
                ),
            );
        }

        // Identity-based authorization: nothing is allowed but the flows of the table, by caller principal
        // (the same principals in every region), and user paths need a valid token.
        mesh?.authorization(
            `${name}-authorization`,
            { namespace: NAMESPACE, policies: args.flows.authorization(NAMESPACE) },
            this,
        );

        const endpoints: Record<string, pulumi.Input<string>> = {};
        const camel = (n: string) => n.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
        for (const s of this.services) {
            endpoints[camel(s.serviceName)] = `http://${serviceFqdn(s.serviceName, NAMESPACE)}:${SERVICE_PORT}`;
            if (s.publicUrl) endpoints[`${camel(s.serviceName)}Public`] = s.publicUrl;
        }
        const portForward: Record<string, string> = {};
        if (cfg.services.some((s) => s.name === "product-catalog")) {
            portForward.productCatalog = `kubectl port-forward svc/product-catalog 8081:${SERVICE_PORT} -n ${NAMESPACE}`;
            portForward.productCatalogLogs = `kubectl logs -f deployment/product-catalog -n ${NAMESPACE}`;
        }
        portForward.coreServicesAutoscalers = `kubectl get hpa -n ${NAMESPACE}`;
        this.report = { endpoints, portForward };
        this.registerOutputs({ namespace: NAMESPACE });
    }
}
