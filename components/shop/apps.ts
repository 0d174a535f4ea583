// The shop's application tier: backend API, worker and frontend (on the shared Microservice
// component), the worker's RBAC, the frontend's public Service and the Ingress.
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { input } from "@pulumi/kubernetes/types";
import { resourcesFor } from "../../config";
import { container } from "../defaults";
import { Microservice } from "../microservice";
import { nginxExporter } from "./exporters";
import { frontendBuildResources, NAMES, PART_OF, PORTS, REDIS_CA_DIR, serviceHost, UIDS } from "./plan";
import type { StackContext } from "../contracts";
import type { FlowTable } from "../flows";
import { appLabels } from "../labels";
import { anyAddress, tcp } from "../network";

const SERVICE_JS = path.resolve(__dirname, "..", "..", "apps", "service.js");

export interface ShopAppsArgs {
    ctx: StackContext;
    namespace: pulumi.Input<string>;
    config: k8s.core.v1.ConfigMap;
    /** Login of the app role (reads and writes the shop's rows; no superuser). */
    databaseLogin: k8s.core.v1.Secret;
    apiKeySecret: k8s.core.v1.Secret;
    redisSecret: k8s.core.v1.Secret;
    /**
     * Where the cache is (host, port), whether the login has a user name (key `username` of the Redis
     * Secret), whether it speaks TLS and the ConfigMap with its CA.
     */
    cache: { host: pulumi.Input<string>; port: number; username: boolean; tls: boolean; ca?: k8s.core.v1.ConfigMap };
    /** The database (read-write host and port, TLS mode), for readiness. */
    database: { host: pulumi.Input<string>; port: number; sslMode: string };
    /** Who calls whom: each workload's NetworkPolicy comes from it. */
    flows: FlowTable;
    /** ClusterIssuer present: the Ingress asks for TLS with Secret `warung-kopi-tls`. */
    tls: boolean;
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * nginx servers for the frontend: the rendered site, /healthz, and /api proxied to the backend; and
 * stub_status on the pod's loopback for the exporter sidecar. With `redirectHttp` (the stack issues
 * a certificate for the shop host), a request the Istio ingress gateway received over plain HTTP
 * (it sets X-Forwarded-Proto) is redirected to HTTPS; direct access (frontend-nodeport,
 * frontend-public, port-forward) sends no such header and is served as is.
 */
export function frontendNginxConfig(
    backendHost: string,
    backendPort: number,
    opts: { redirectHttp: boolean } = { redirectHttp: false },
): string {
    return [
        "server {",
        `    listen ${PORTS.frontendContainer};`,
        "    server_name _;",
        "    root /usr/share/nginx/html;",
        // 308 keeps the method and body (a POST stays a POST).
        ...(opts.redirectHttp
            ? ['    if ($http_x_forwarded_proto = "http") { return 308 https://$host$request_uri; }']
            : []),
        '    location = /healthz { access_log off; default_type text/plain; return 200 "ok\\n"; }',
        "    location / { try_files $uri $uri/ /index.html; }",
        // Resolve the backend per request: nginx starts even before the backend Service exists.
        "    resolver kube-dns.kube-system.svc.cluster.local valid=30s ipv6=off;",
        `    set $backend http://${backendHost}:${backendPort};`,
        "    location /api/ {",
        "        proxy_pass $backend;",
        // The upstream's own name as Host: the pod's sidecar routes by it (to the backend, with mTLS). The
        // client's host (localhost:8080 through port-forward, the load balancer's address) matches no
        // route and would leave in plain text through PassthroughCluster, which the backend refuses.
        "        proxy_set_header Host $proxy_host;",
        "        proxy_set_header X-Forwarded-Host $host;",
        "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "        proxy_set_header X-Forwarded-Proto $scheme;",
        "        proxy_read_timeout 30s;",
        "    }",
        "}",
        "server {",
        `    listen 127.0.0.1:${PORTS.nginxStatus};`,
        "    access_log off;",
        "    location = /stub_status { stub_status; allow 127.0.0.1; deny all; }",
        "    location / { return 404; }",
        "}",
        "",
    ].join("\n");
}

/**
 * Deployments and ClusterIP Services `backend` (8080), `worker` and `frontend` (80 -> 8080, plus
 * the nginx exporter's metrics); HPAs and (when replicated) PodDisruptionBudgets from config;
 * Role/RoleBinding `worker`; Service `frontend-public` (LoadBalancer, internal on the clouds), in
 * dev also `frontend-nodeport` (NodePort); Ingress
 * `warung-kopi` (the public entry).
 */
export class ShopApps extends pulumi.ComponentResource {
    public readonly backend: Microservice;
    public readonly worker: Microservice;
    public readonly frontend: Microservice;
    /** NodePort `frontend-nodeport`: dev stacks only. */
    public readonly nodePortService?: k8s.core.v1.Service;
    public readonly publicService: k8s.core.v1.Service;
    public readonly ingress: k8s.networking.v1.Ingress;

    constructor(name: string, args: ShopAppsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:ShopApps", name, {}, opts);
        const { cfg, provider } = args.ctx;
        const o = { parent: this, provider };
        const ns = args.namespace;
        const shop = cfg.shop;

        // The reference service (apps/service.js) every application container runs.
        const runtime = new k8s.core.v1.ConfigMap(
            `${name}-runtime`,
            {
                metadata: { name: NAMES.appRuntime, namespace: ns, labels: appLabels(PART_OF, PART_OF, "runtime") },
                data: { "service.js": fs.readFileSync(SERVICE_JS, "utf8") },
            },
            o,
        );
        const runtimeVolume: input.core.v1.Volume = { name: "app", configMap: { name: runtime.metadata.name } };
        const runtimeMount: input.core.v1.VolumeMount = { name: "app", mountPath: "/app", readOnly: true };

        const secretEnv = (envName: string, secret: k8s.core.v1.Secret, key: string): input.core.v1.EnvVar => ({
            name: envName,
            valueFrom: { secretKeyRef: { name: secret.metadata.name, key } },
        });
        // Readiness asks each dependency in its own protocol (apps/service.js): a PostgreSQL startup message,
        // a Redis AUTH and PING (over TLS against the cache's CA where it serves TLS); the URLs name the
        // environment variables holding the credentials, never the credentials.
        const cacheQuery = [
            "passwordFrom=REDIS_PASSWORD",
            ...(args.cache.username ? ["userFrom=REDIS_USERNAME"] : []),
            ...(args.cache.tls ? ["caFileFrom=REDIS_CA_FILE"] : []),
        ].join("&");
        const dependsOn = pulumi.interpolate`postgres://${args.database.host}:${args.database.port}/?userFrom=DATABASE_USER&databaseFrom=DATABASE_NAME&sslmode=${args.database.sslMode},${args.cache.tls ? "rediss" : "redis"}://${args.cache.host}:${args.cache.port}?${cacheQuery}`;
        const serviceEnv = (serviceName: string, role: string, port: number): input.core.v1.EnvVar[] => [
            { name: "SERVICE_NAME", value: serviceName },
            { name: "ROLE", value: role },
            { name: "PORT", value: String(port) },
            { name: "METRICS_PORT", value: String(PORTS.metrics) },
            { name: "DEPENDS_ON", value: dependsOn },
            secretEnv("DATABASE_USER", args.databaseLogin, "username"),
            secretEnv("DATABASE_PASSWORD", args.databaseLogin, "password"),
            ...(args.cache.username ? [secretEnv("REDIS_USERNAME", args.redisSecret, "username")] : []),
            secretEnv("REDIS_PASSWORD", args.redisSecret, "password"),
            secretEnv("API_KEY", args.apiKeySecret, "api-key"),
        ];
        // The cache's CA (REDIS_CA_FILE in the ConfigMap points here).
        const caVolumes: input.core.v1.Volume[] = args.cache.ca
            ? [{ name: "redis-ca", configMap: { name: args.cache.ca.metadata.name } }]
            : [];
        const caMounts: input.core.v1.VolumeMount[] = args.cache.ca
            ? [{ name: "redis-ca", mountPath: REDIS_CA_DIR, readOnly: true }]
            : [];
        const common = { ctx: args.ctx, namespace: ns, partOf: PART_OF, dependsOn: args.dependsOn };
        const traffic = (workload: string) => {
            const party = args.flows.of(shop.namespace, workload);
            return { ingress: args.flows.ingress(party), egress: args.flows.egress(party) };
        };
        const nodeApp = {
            command: ["node", "/app/service.js"],
            envFrom: [{ configMapRef: { name: args.config.metadata.name } }],
            volumes: [runtimeVolume, ...caVolumes],
            volumeMounts: [runtimeMount, ...caMounts],
            runAsUser: UIDS.node,
            metricsPort: PORTS.metrics,
            health: { http: { path: "/healthz", readyPath: "/readyz", port: "http" } },
        };

        this.backend = new Microservice(
            `${name}-backend`,
            {
                ...common,
                ...nodeApp,
                name: NAMES.backend,
                component: "api",
                image: cfg.images.backend,
                env: serviceEnv(NAMES.backend, "api", PORTS.backend),
                resources: resourcesFor(cfg, "backend"),
                port: { containerPort: PORTS.backend },
                replicas: shop.backend.replicas,
                autoscaling: shop.backend.autoscaling,
                // The frontend's /api proxy and the Ingress (through the mesh's ingress gateway); out to the data.
                ...traffic(NAMES.backend),
            },
            { parent: this },
        );

        // ---- Worker: the only workload that talks to the Kubernetes API (reads its ConfigMap, writes events).
        this.worker = new Microservice(
            `${name}-worker`,
            {
                ...common,
                ...nodeApp,
                name: NAMES.worker,
                component: "worker",
                image: cfg.images.worker,
                env: serviceEnv(NAMES.worker, "worker", PORTS.worker),
                resources: resourcesFor(cfg, "worker"),
                port: { containerPort: PORTS.worker },
                replicas: shop.worker.replicas,
                autoscaling: shop.worker.autoscaling,
                // Serves probes (and metrics) only; reaches the data and the API server.
                ingress: traffic(NAMES.worker).ingress,
                egress: [
                    ...traffic(NAMES.worker).egress,
                    // The API server's address is not known to the program: the API ports, for this pod only.
                    { to: [anyAddress()], ports: tcp(443, 6443) },
                ],
                automountServiceAccountToken: true,
            },
            { parent: this },
        );
        const workerLabels = appLabels(NAMES.worker, PART_OF, "worker");
        const role = new k8s.rbac.v1.Role(
            `${name}-worker-role`,
            {
                metadata: { name: NAMES.worker, namespace: ns, labels: workerLabels },
                rules: [
                    {
                        apiGroups: [""],
                        resources: ["configmaps"],
                        resourceNames: [NAMES.config],
                        verbs: ["get", "list", "watch"],
                    },
                    { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create"] },
                ],
            },
            o,
        );
        new k8s.rbac.v1.RoleBinding(
            `${name}-worker-rolebinding`,
            {
                metadata: { name: NAMES.worker, namespace: ns, labels: workerLabels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
                subjects: [{ kind: "ServiceAccount", name: this.worker.serviceAccount.metadata.name, namespace: ns }],
            },
            o,
        );

        // ---- Frontend: nginx serves the site an init container renders into the shared emptyDir `site`.
        const nginx = new k8s.core.v1.ConfigMap(
            `${name}-frontend-nginx`,
            {
                metadata: {
                    name: NAMES.frontendNginx,
                    namespace: ns,
                    labels: appLabels(NAMES.frontend, PART_OF, "web"),
                },
                data: {
                    "default.conf": frontendNginxConfig(serviceHost(cfg, NAMES.backend), PORTS.backend, {
                        redirectHttp: args.tls,
                    }),
                },
            },
            o,
        );
        this.frontend = new Microservice(
            `${name}-frontend`,
            {
                ...common,
                name: NAMES.frontend,
                component: "web",
                image: cfg.images.frontend,
                runAsUser: UIDS.nginx,
                resources: resourcesFor(cfg, "frontend"),
                // nginx has no /metrics: its exporter sidecar serves them from stub_status.
                metricsPort: PORTS.metrics,
                metricsSidecar: nginxExporter(cfg),
                port: { containerPort: PORTS.frontendContainer, servicePort: PORTS.frontendService },
                health: { http: { path: "/healthz", port: "http" } },
                replicas: shop.frontend.replicas,
                autoscaling: shop.frontend.autoscaling,
                initContainers: [
                    container({
                        name: "render-site",
                        image: cfg.images.frontendBuilder,
                        command: ["node", "/app/service.js"],
                        env: [
                            { name: "ROLE", value: "frontend-build" },
                            { name: "SERVICE_NAME", value: NAMES.frontend },
                            { name: "OUTPUT_DIR", value: "/site" },
                            { name: "API_BASE", value: "/api" },
                        ],
                        volumeMounts: [runtimeMount, { name: "site", mountPath: "/site" }],
                        resources: frontendBuildResources(cfg),
                    }),
                ],
                volumes: [
                    runtimeVolume,
                    { name: "site", emptyDir: { sizeLimit: "16Mi" } },
                    { name: "nginx-conf", configMap: { name: nginx.metadata.name } },
                    { name: "tmp", emptyDir: { sizeLimit: "32Mi" } },
                    { name: "cache", emptyDir: { sizeLimit: "64Mi" } },
                ],
                volumeMounts: [
                    { name: "site", mountPath: "/usr/share/nginx/html", readOnly: true },
                    { name: "nginx-conf", mountPath: "/etc/nginx/conf.d", readOnly: true },
                    { name: "tmp", mountPath: "/tmp" },
                    { name: "cache", mountPath: "/var/cache/nginx" },
                ],
                // The internet arrives through the Istio ingress gateway (the Ingress); plain-HTTP direct
                // access (frontend-nodeport, frontend-public) only from the configured private networks,
                // without the cluster's pod and service ranges. frontend-public keeps client addresses
                // (externalTrafficPolicy Local), so these ipBlocks see them; kubectl port-forward is not
                // subject to NetworkPolicy. Out: the backend (/api).
                ...traffic(NAMES.frontend),
            },
            { parent: this },
        );

        // ---- Direct access besides ClusterIP `frontend` (port-forward): NodePort `frontend-nodeport`, the
        // laptop entry (dev only: in a region it would serve plain HTTP on every node's address, and
        // traffic from a pod's own node passes every NetworkPolicy), and LoadBalancer `frontend-public`,
        // internal in the regions. Both serve plain HTTP, to the networks in shop.directAccessCidrs only;
        // the public entry is the Ingress.
        const webLabels = appLabels(NAMES.frontend, PART_OF, "web");
        const httpPort = [{ name: "http", port: PORTS.frontendService, targetPort: "http", protocol: "TCP" }];
        if (cfg.tier === "dev")
            this.nodePortService = new k8s.core.v1.Service(
                `${name}-frontend-nodeport`,
                {
                    metadata: { name: NAMES.frontendNodePort, namespace: ns, labels: webLabels },
                    // Local: the client's address reaches the pod (no SNAT to the node), so the frontend's
                    // NetworkPolicy and AuthorizationPolicy can check it against the direct-access networks.
                    spec: {
                        type: "NodePort",
                        selector: this.frontend.selector,
                        ports: httpPort,
                        externalTrafficPolicy: "Local",
                    },
                },
                o,
            );
        // Laptop clusters assign a LoadBalancer address late or never (Docker Desktop does, kind does not).
        const laptop = cfg.tier === "dev" || cfg.cluster.profile.loadBalancer !== "cloud";
        this.publicService = new k8s.core.v1.Service(
            `${name}-frontend-public`,
            {
                metadata: {
                    name: NAMES.frontendPublic,
                    namespace: ns,
                    labels: webLabels,
                    annotations: {
                        ...cfg.cluster.profile.internalLoadBalancerAnnotations,
                        ...(laptop ? { "pulumi.com/skipAwait": "true" } : {}),
                    },
                },
                spec: {
                    type: "LoadBalancer",
                    selector: this.frontend.selector,
                    ports: httpPort,
                    loadBalancerSourceRanges: [...shop.directAccessCidrs],
                    // Client addresses reach the pods, so the frontend's NetworkPolicy can check them too.
                    externalTrafficPolicy: "Local",
                },
            },
            o,
        );

        this.ingress = new k8s.networking.v1.Ingress(
            `${name}-ingress`,
            {
                metadata: {
                    name: NAMES.ingress,
                    namespace: ns,
                    labels: appLabels(PART_OF, PART_OF, "ingress"),
                    // Never wait for an address: a laptop may have no ingress controller at all.
                    annotations: { "pulumi.com/skipAwait": "true" },
                },
                spec: {
                    ingressClassName: "istio",
                    tls: args.tls ? [{ hosts: [shop.ingressHost], secretName: NAMES.tlsSecret }] : undefined,
                    rules: [
                        {
                            host: shop.ingressHost,
                            http: {
                                paths: [
                                    {
                                        path: "/api",
                                        pathType: "Prefix",
                                        backend: { service: { name: NAMES.backend, port: { number: PORTS.backend } } },
                                    },
                                    {
                                        path: "/",
                                        pathType: "Prefix",
                                        backend: {
                                            service: { name: NAMES.frontend, port: { number: PORTS.frontendService } },
                                        },
                                    },
                                ],
                            },
                        },
                    ],
                },
            },
            { ...o, dependsOn: [this.frontend, this.backend] },
        );

        this.registerOutputs({});
    }
}
