// The e-commerce core services in namespace `ecommerce`: product-catalog, payment, recommendation and
// auth (cfg.services), each a small component on the shared hardened workload defaults, all running
// the reference service (apps/service.js) on the public node image.
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { LayerReport } from "../outputs";
import type { StackContext } from "../defaults";
import type { ServiceMesh } from "../mesh";
import type { Observability } from "../observability";
import type { CacheEndpoint } from "../cache";
import type { DatabaseLogin } from "../database";
import { type PlatformConfig, type Resources, resourcesFor } from "../../config";
import { parseQuantity } from "../../config/quantity";
import { HardenedNamespace } from "../namespace";
import { CORE_SERVICES_NAMESPACE } from "../names";
import { CoreService, SERVICE_KINDS, SERVICE_PORT } from "./service";

export { CoreService, ProductCatalog, Payment, Recommendation, Auth } from "./service";
export { FLOWS } from "./flows";

/** Namespace of the core services (runbooks: `kubectl ... -n ecommerce`). */
export const NAMESPACE = CORE_SERVICES_NAMESPACE;
const RUNTIME = path.resolve(__dirname, "..", "..", "apps", "service.js");

export interface CoreServicesArgs {
    ctx: StackContext;
    mesh?: ServiceMesh;
    observability?: Observability;
    cache?: CacheEndpoint;
    /** Payment's login on the transactional PostgreSQL (the shop's), when that runs. */
    transactionDatabase?: DatabaseLogin;
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

export class CoreServices extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    public readonly namespace = NAMESPACE;
    public readonly services: CoreService[] = [];

    constructor(name: string, args: CoreServicesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:CoreServices", name, {}, opts);
        const { ctx, mesh, observability } = args;
        const { cfg, provider } = ctx;
        const o = { parent: this, provider };

        const ns = new HardenedNamespace(
            `${name}-namespace`,
            {
                ctx,
                name: NAMESPACE,
                podSecurity: "restricted",
                istioInjection: !!mesh,
                platformEgress: mesh?.workloadEgress,
                quota: namespaceQuota(cfg, mesh?.proxyResources),
                containerDefaults: { request: { cpu: "50m", memory: "64Mi" }, limit: { cpu: "500m", memory: "256Mi" } },
            },
            { parent: this },
        );

        const code = fs.readFileSync(RUNTIME, "utf8");
        const runtime = new k8s.core.v1.ConfigMap(
            `${name}-app-runtime`,
            {
                metadata: {
                    name: "app-runtime",
                    namespace: NAMESPACE,
                    labels: { "app.kubernetes.io/part-of": "ecommerce", "app.kubernetes.io/managed-by": "pulumi" },
                },
                data: { "service.js": code },
            },
            { ...o, dependsOn: [ns] },
        );
        const dependsOn: pulumi.Resource[] = [ns, runtime];

        // The cache password, copied into this namespace so pods reference it by Secret name.
        let cache: { endpoint: CacheEndpoint; secretName: string } | undefined;
        if (args.cache) {
            const secret = new k8s.core.v1.Secret(
                `${name}-cache-credentials`,
                {
                    metadata: {
                        name: "cache-credentials",
                        namespace: NAMESPACE,
                        labels: { "app.kubernetes.io/part-of": "ecommerce", "app.kubernetes.io/managed-by": "pulumi" },
                    },
                    type: "Opaque",
                    stringData: { password: args.cache.password },
                },
                { ...o, dependsOn: [ns] },
            );
            dependsOn.push(secret);
            cache = { endpoint: args.cache, secretName: "cache-credentials" };
        }

        const present = cfg.services.map((s) => s.name);
        for (const config of cfg.services) {
            const Kind = SERVICE_KINDS[config.name] ?? CoreService;
            this.services.push(
                new Kind(
                    `${name}-${config.name}`,
                    {
                        ctx,
                        namespace: NAMESPACE,
                        config,
                        present,
                        runtime: {
                            configMap: "app-runtime",
                            checksum: crypto.createHash("sha256").update(code).digest("hex"),
                        },
                        cache,
                        mesh,
                        observability,
                        dependsOn,
                        transactionDatabase: args.transactionDatabase,
                    },
                    { parent: this },
                ),
            );
        }

        const endpoints: Record<string, pulumi.Input<string>> = {};
        const camel = (n: string) => n.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
        for (const s of this.services) {
            endpoints[camel(s.serviceName)] = `http://${s.serviceName}.${NAMESPACE}.svc.cluster.local:${SERVICE_PORT}`;
            if (s.publicUrl) endpoints[`${camel(s.serviceName)}Public`] = s.publicUrl;
        }
        const portForward: Record<string, string> = {};
        if (present.includes("product-catalog")) {
            portForward.productCatalog = `kubectl port-forward svc/product-catalog 8081:${SERVICE_PORT} -n ${NAMESPACE}`;
            portForward.productCatalogLogs = `kubectl logs -f deployment/product-catalog -n ${NAMESPACE}`;
        }
        portForward.coreServicesAutoscalers = `kubectl get hpa -n ${NAMESPACE}`;
        this.report = { endpoints, portForward };
        this.registerOutputs({ namespace: NAMESPACE });
    }
}
