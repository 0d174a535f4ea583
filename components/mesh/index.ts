// The service mesh layer: Istio (base, cni, istiod, ingress gateway), mesh-wide STRICT mTLS, the
// public entry point (Istio Gateway for the API host; Kubernetes Ingress of class "istio"), tracing,
// and in the regions the multi-primary wiring to the peer clusters. Other layers see it through the
// mesh contract (components/contracts.ts).
//
// Order: namespaces -> base (CRDs) and cni in parallel -> istiod (after base, cni and cacerts) ->
// gateways; every Istio custom resource waits for base (its CRD) and istiod (its validating webhook).
import { CHART_PODS, pickLabels } from "../chart-pods";
import * as k8s from "@pulumi/kubernetes";
import type { input } from "@pulumi/kubernetes/types";
import * as pulumi from "@pulumi/pulumi";
import { type PlatformConfig, type Resources, resourcesFor } from "../../config";
import { edgeCertificates } from "../certificates";
import type {
    EgressRule,
    IssuerContract,
    LayerReport,
    MeshAuthorizationArgs,
    MeshContract,
    Peer,
    PublicRouteArgs,
    StackContext,
    TrafficPolicyArgs,
} from "../contracts";
import { resourceRequirements, scheduling } from "../defaults";
import { CHARTS, type ChartPin, chartValues, pinnedRelease } from "../helm";
import { publicHosts, serviceFqdn } from "../hosts";
import {
    CROSS_NETWORK_PORT,
    EAST_WEST_GATEWAY,
    INGRESS_CLASS,
    INGRESS_GATEWAY,
    NAMESPACES,
    TLS_SECRETS,
} from "../names";
import { platformNamespacesOnly, type ScopedUse } from "../admission";
import { HardenedNamespace } from "../namespace";
import { anyAddress, namespacePeer, networkPolicy, tcp } from "../network";
import type { PeerRegions } from "../peers";
import { meshCa } from "./ca";
import { eastWestAuthorization, eastWestSources, meshPublication, readerAccess, remoteSecrets } from "./multicluster";
import { meshAuthorization, meshTrafficPolicy, publicRoute } from "./traffic";
import { gatewayNetworkPolicy } from "./gateway-network";
import { istioCniPaths, istioPlatform } from "./values";

/** Istio Gateway for the public API host, as VirtualServices reference it. */
export const PUBLIC_GATEWAY = `${NAMESPACES.ingress}/public-gateway`;
/** Name of the tracing extension provider in meshConfig. */
export const TRACING_PROVIDER = "otel-tracing";
const ISTIOD_LABELS = CHART_PODS.istiod.selector;

export interface ServiceMeshArgs {
    ctx: StackContext;
    peers: PeerRegions;
    /** The ClusterIssuer for the edge certificates (HTTPS on the public hosts), when cert-manager runs. */
    issuer?: IssuerContract;
    /** Where sidecars send spans (OTLP/gRPC), when the stack traces requests. */
    tracing?: { host: string; port: number; namespace: string };
    /** Namespace Prometheus scrapes from, when the stack is monitored: the gateways' stats ports admit it. */
    scrapedFrom?: string;
    /**
     * Hosts that stay in this cluster (multi-primary merges same-named services of every region): the
     * regional ones, which no flow reaches from other regions (e.g. the shop and its data).
     */
    clusterLocalHosts?: string[];
}

export class ServiceMesh extends pulumi.ComponentResource implements MeshContract {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    public readonly ready: pulumi.Resource[] = [];
    public readonly workloadEgress: EgressRule[] = [];
    public readonly gatewayPeers: Peer[] = [];
    public readonly proxyResources: Resources;
    /** The release that installs the Istio CRDs. */
    public readonly crds: k8s.helm.v3.Release;
    public readonly istiod: k8s.helm.v3.Release;
    public readonly ingressGateway: k8s.helm.v3.Release;
    /** IngressClass `istio`: Kubernetes Ingress objects of this class are served by the ingress gateway. */
    public readonly ingressClass: k8s.networking.v1.IngressClass;
    private readonly ctx: StackContext;

    constructor(name: string, args: ServiceMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:ServiceMesh", name, {}, opts);
        const { ctx, peers, issuer, tracing } = args;
        const { cfg, provider } = ctx;
        this.ctx = ctx;
        const o = { parent: this, provider };
        const prod = cfg.tier !== "dev";
        const multi = cfg.layers.multiCluster;
        const platform = istioPlatform(cfg.cluster.distribution);
        const hosts = publicHosts(cfg);
        this.proxyResources = resourcesFor(cfg, "istio-proxy");

        const release = (
            rname: string,
            a: {
                chart: ChartPin;
                releaseName: string;
                namespace: string;
                values: Record<string, unknown>;
                timeout: number;
            },
            dependsOn: pulumi.Resource[],
        ) =>
            pinnedRelease(
                `${name}-${rname}`,
                {
                    ctx,
                    chart: a.chart,
                    releaseName: a.releaseName,
                    namespace: a.namespace,
                    values: a.values,
                    timeoutSeconds: a.timeout,
                },
                { parent: this, dependsOn },
            );

        // ---- Namespaces ---------------------------------------------------------------------------
        // istio-system (istiod, the CA Secret cacerts, the peers' remote secrets, the east-west gateway)
        // enforces "restricted". The istio-cni node agent needs host networking and CNI host paths: it runs
        // alone in istio-cni, the documented exception. Both stay default-deny: each chart adds the
        // NetworkPolicy its pods need (global.networkPolicy.enabled), the east-west gateway gets one below.
        const systemNs = new HardenedNamespace(
            `${name}-istio-system`,
            {
                ctx,
                name: NAMESPACES.istio,
                podSecurity: "restricted",
                labels: multi ? { "topology.istio.io/network": cfg.mesh.network } : undefined,
            },
            { parent: this },
        );
        const cniNs = new HardenedNamespace(
            `${name}-istio-cni`,
            {
                ctx,
                name: NAMESPACES.istioCni,
                podSecurity: {
                    privilegedBecause:
                        "istio-cni node agent configures pod networking (host network, CNI host paths); nothing else runs here",
                },
            },
            { parent: this },
        );
        const ingressNs = new HardenedNamespace(
            `${name}-istio-ingress`,
            { ctx, name: NAMESPACES.ingress, podSecurity: "restricted" },
            { parent: this },
        );

        // ---- Control plane ------------------------------------------------------------------------
        this.crds = release(
            "base",
            {
                chart: CHARTS.istioBase,
                releaseName: "istio-base",
                namespace: NAMESPACES.istio,
                timeout: 300,
                values: chartValues("istio-base.yaml", {}),
            },
            [systemNs],
        );

        // The release moved here from istio-system: a namespace change replaces it, and its cluster-scoped
        // objects keep their names, so the old release goes first (new pods wait for the agent meanwhile).
        const cni = pinnedRelease(
            `${name}-cni`,
            {
                ctx,
                chart: CHARTS.istioCni,
                releaseName: "istio-cni",
                namespace: NAMESPACES.istioCni,
                timeoutSeconds: 600,
                values: chartValues("istio-cni.yaml", {
                    ...(platform ? { global: { platform } } : {}),
                    ...istioCniPaths(cfg.cluster.distribution),
                    resources: resourceRequirements(resourcesFor(cfg, "istio-cni")),
                }),
            },
            { parent: this, dependsOn: [cniNs], deleteBeforeReplace: true },
        );

        // Multi-primary: the region's CA (signed by the root's stack) must be in place before istiod starts.
        const ca = multi ? meshCa(name, ctx, peers, systemNs, this) : undefined;

        const place = scheduling(cfg, prod ? ISTIOD_LABELS : undefined);
        this.istiod = release(
            "istiod",
            {
                chart: CHARTS.istiod,
                releaseName: "istiod",
                namespace: NAMESPACES.istio,
                timeout: 600,
                values: chartValues("istiod.yaml", {
                    ...(prod
                        ? { autoscaleEnabled: true, autoscaleMin: 2, autoscaleMax: 5, replicaCount: 2 }
                        : { autoscaleEnabled: false, replicaCount: 1 }),
                    resources: resourceRequirements(resourcesFor(cfg, "istiod")),
                    nodeSelector: place.nodeSelector ?? {},
                    tolerations: place.tolerations ?? [],
                    topologySpreadConstraints: place.topologySpreadConstraints ?? [],
                    // Restart istiod when its plugged-in CA changes (a fingerprint of the certificates, never the key).
                    ...(ca ? { podAnnotations: { "ecommerce-platform.io/mesh-ca": ca.fingerprint } } : {}),
                    // Trust every root of the bundle (two while a root is rotated), and hand proxies their
                    // ProxyConfig through the agent so a changed bundle reaches them without a restart.
                    ...(multi
                        ? {
                              env: { ISTIO_MULTIROOT_MESH: "true" },
                          }
                        : {}),
                    global: {
                        ...(platform ? { platform } : {}),
                        // One replica in dev: a PodDisruptionBudget there would block every node drain.
                        defaultPodDisruptionBudget: { enabled: prod },
                        proxy: { resources: resourceRequirements(this.proxyResources) },
                        ...(multi
                            ? {
                                  meshID: cfg.mesh.meshId,
                                  multiCluster: { clusterName: cfg.cluster.identifier },
                                  network: cfg.mesh.network,
                              }
                            : {}),
                    },
                    meshConfig: {
                        ...(tracing
                            ? {
                                  enableTracing: true,
                                  extensionProviders: [
                                      {
                                          name: TRACING_PROVIDER,
                                          opentelemetry: { service: tracing.host, port: tracing.port },
                                      },
                                  ],
                              }
                            : {}),
                        ...(multi ? { defaultConfig: { proxyMetadata: { PROXY_CONFIG_XDS_AGENT: "true" } } } : {}),
                        ...(multi && args.clusterLocalHosts?.length
                            ? { serviceSettings: [{ settings: { clusterLocal: true }, hosts: args.clusterLocalHosts }] }
                            : {}),
                    },
                }),
            },
            [this.crds, cni, ...(ca ? [ca.secret] : [])],
        );

        this.ready.push(this.crds, this.istiod);
        const istioResource = (
            rname: string,
            apiVersion: string,
            kind: string,
            metadata: input.meta.v1.ObjectMeta,
            spec: Record<string, unknown>,
            extra: pulumi.Resource[] = [],
        ) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${rname}`,
                { apiVersion, kind, metadata, spec },
                { ...o, dependsOn: [...this.ready, ...extra] },
            );

        // Mesh-wide mutual TLS: plain-text traffic to any sidecar is refused.
        istioResource(
            "peer-authentication",
            "security.istio.io/v1",
            "PeerAuthentication",
            { name: "default", namespace: NAMESPACES.istio },
            { mtls: { mode: "STRICT" } },
        );

        if (tracing) {
            istioResource(
                "telemetry",
                "telemetry.istio.io/v1",
                "Telemetry",
                { name: "mesh-default", namespace: NAMESPACES.istio },
                { tracing: [{ providers: [{ name: TRACING_PROVIDER }], randomSamplingPercentage: prod ? 5 : 100 }] },
            );
        }

        // ---- Ingress gateway ----------------------------------------------------------------------
        const ingressTraffic = gatewayNetworkPolicy(
            `${name}-ingress-gateway-traffic`,
            {
                cfg,
                namespace: NAMESPACES.ingress,
                name: "allow-gateway-traffic",
                podLabels: { ...INGRESS_GATEWAY.podLabels },
                publicPorts: [80, 443],
                scrapedFrom: args.scrapedFrom,
                crossNetwork: multi,
            },
            { ...o, dependsOn: [ingressNs] },
        );
        this.ingressGateway = release(
            "ingress-gateway",
            {
                chart: CHARTS.istioGateway,
                releaseName: INGRESS_GATEWAY.name,
                namespace: NAMESPACES.ingress,
                timeout: 600,
                values: chartValues(
                    "istio-gateway.yaml",
                    gatewayValues(
                        cfg,
                        cfg.mesh.gatewayServiceType,
                        pickLabels(CHART_PODS.ingressGateway.labels, "app"),
                    ),
                ),
            },
            [this.istiod, ingressNs, ingressTraffic],
        );

        // Kubernetes Ingresses of class `istio` (the shop's, cert-manager's HTTP-01 solver) are served by
        // this gateway. With ingressControllerMode STRICT, istiod serves only Ingresses whose IngressClass
        // names its controller, so the class must exist.
        this.ingressClass = new k8s.networking.v1.IngressClass(
            `${name}-ingress-class`,
            { metadata: { name: INGRESS_CLASS }, spec: { controller: "istio.io/ingress-controller" } },
            o,
        );
        // The class, the public gateway and the gateways' pods serve the platform's namespaces only: an
        // Ingress, VirtualService or Gateway using them anywhere else is refused at admission.
        for (const [id, use] of Object.entries(sharedEntryUses()))
            platformNamespacesOnly(`${name}-${id}-scope`, `platform-${id}-scope`, use, o);

        // Edge certificates: Secrets api-tls and warung-kopi-tls next to the gateway.
        if (issuer)
            edgeCertificates(
                `${name}-edge`,
                { ctx, issuer, namespace: NAMESPACES.ingress, dependsOn: [ingressNs] },
                this,
            );

        // The public API host. With a cluster issuer, HTTPS is served from Secret `api-tls`. Plain HTTP is
        // redirected to HTTPS, except with ACME HTTP-01: there port 80 of the API host is left to
        // cert-manager's solver (an Ingress of class istio), because a Gateway server for the same host and
        // port hides the challenge path (istio/istio#27643) and a redirect would send the CA to an HTTPS
        // route without it.
        const httpServer = { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: [hosts.api] };
        istioResource(
            "public-gateway",
            "networking.istio.io/v1",
            "Gateway",
            { name: "public-gateway", namespace: NAMESPACES.ingress },
            {
                selector: INGRESS_GATEWAY.podLabels,
                servers: issuer
                    ? [
                          {
                              port: { number: 443, name: "https", protocol: "HTTPS" },
                              hosts: [hosts.api],
                              tls: { mode: "SIMPLE", credentialName: TLS_SECRETS.api, minProtocolVersion: "TLSV1_2" },
                          },
                          ...(cfg.tls.issuer === "acme-http01"
                              ? []
                              : [{ ...httpServer, tls: { httpsRedirect: true } }]),
                      ]
                    : [httpServer],
            },
            [ingressNs],
        );

        if (issuer) {
            // HTTP-01 solver pods cert-manager starts next to the Certificate (istio-ingress, default-deny)
            // must accept the challenge request from the gateway.
            networkPolicy(
                `${name}-allow-acme-solver`,
                {
                    namespace: NAMESPACES.ingress,
                    name: "allow-acme-http01-solver",
                    podSelector: { "acme.cert-manager.io/http01-solver": "true" },
                    ingress: [
                        {
                            from: [{ podSelector: { matchLabels: { ...INGRESS_GATEWAY.podLabels } } }],
                            ports: tcp(8089),
                        },
                    ],
                },
                { ...o, dependsOn: [ingressNs] },
            );
        }

        // ---- What injected workloads need -------------------------------------------------------
        this.workloadEgress.push({ to: [namespacePeer(NAMESPACES.istio, ISTIOD_LABELS)], ports: tcp(15012) }); // xDS and certificate signing
        if (tracing) this.workloadEgress.push({ to: [namespacePeer(tracing.namespace)], ports: tcp(tracing.port) }); // OTLP spans
        this.gatewayPeers.push(namespacePeer(NAMESPACES.ingress, INGRESS_GATEWAY.podLabels));

        const endpoints: Record<string, pulumi.Input<string>> = {
            istioIngressGateway: serviceFqdn(INGRESS_GATEWAY.name, NAMESPACES.ingress),
            publicApi: `${issuer ? "https" : "http"}://${hosts.api}`,
        };
        const portForward: Record<string, string> = {
            istioIngressGateway: `kubectl -n ${NAMESPACES.ingress} port-forward svc/${INGRESS_GATEWAY.name} 8080:80 8443:443`,
        };
        const pending: string[] = [...(ca?.pending ?? [])];

        // ---- Multi-primary across regions -------------------------------------------------------
        if (multi) {
            const eastWestTraffic = gatewayNetworkPolicy(
                `${name}-east-west-gateway-traffic`,
                {
                    cfg,
                    namespace: NAMESPACES.istio,
                    name: "allow-eastwest-gateway-traffic",
                    podLabels: { ...EAST_WEST_GATEWAY.podLabels },
                    publicPorts: [],
                    scrapedFrom: args.scrapedFrom,
                    crossNetwork: false,
                },
                { ...o, dependsOn: [systemNs] },
            );
            // The east-west gateway accepts the peers' egress ranges only: at the load balancer
            // (loadBalancerSourceRanges) and at the gateway (an authorization rule on the client address,
            // which externalTrafficPolicy Local preserves). Until a peer has published its ranges the
            // policy admits nothing.
            const sources = eastWestSources(cfg, peers);
            release(
                "east-west-gateway",
                {
                    chart: CHARTS.istioGateway,
                    releaseName: EAST_WEST_GATEWAY.name,
                    namespace: NAMESPACES.istio,
                    timeout: 900,
                    values: chartValues("istio-gateway.yaml", {
                        ...gatewayValues(cfg, "LoadBalancer", pickLabels(CHART_PODS.eastWestGateway.labels, "app")),
                        service: {
                            type: "LoadBalancer",
                            externalTrafficPolicy: "Local",
                            ...(sources.length > 0 ? { loadBalancerSourceRanges: sources } : {}),
                        },
                        networkGateway: cfg.mesh.network,
                    }),
                },
                [this.istiod, eastWestTraffic],
            );
            istioResource(
                "east-west-authorization",
                "security.istio.io/v1",
                "AuthorizationPolicy",
                { name: "east-west-peers-only", namespace: NAMESPACES.istio },
                eastWestAuthorization(sources),
            );
            if (sources.length === 0) pending.push("mesh:east-west-sources");
            // The chart's policy opens only its default ports; peers' sidecars arrive on the mTLS passthrough port.
            networkPolicy(
                `${name}-allow-cross-network`,
                {
                    namespace: NAMESPACES.istio,
                    name: "allow-cross-network",
                    podSelector: EAST_WEST_GATEWAY.podLabels,
                    ingress: [{ ports: tcp(CROSS_NETWORK_PORT) }],
                },
                { ...o, dependsOn: [systemNs] },
            );
            istioResource(
                "cross-network-gateway",
                "networking.istio.io/v1",
                "Gateway",
                { name: "cross-network-gateway", namespace: NAMESPACES.istio },
                {
                    selector: EAST_WEST_GATEWAY.podLabels,
                    servers: [
                        {
                            port: { number: CROSS_NETWORK_PORT, name: "tls", protocol: "TLS" },
                            tls: { mode: "AUTO_PASSTHROUGH" },
                            hosts: ["*.local"],
                        },
                    ],
                },
            );

            // Sidecars reach endpoints in other networks through the peers' east-west gateways: public load
            // balancer addresses the program does not know, never this cluster's own pods or services.
            const { podCidrs, serviceCidrs } = cfg.cluster.profile.network;
            this.workloadEgress.push({
                to: [anyAddress([...podCidrs, ...serviceCidrs])],
                ports: tcp(CROSS_NETWORK_PORT),
            });
            this.gatewayPeers.push(namespacePeer(NAMESPACES.istio, EAST_WEST_GATEWAY.podLabels));

            const kubeconfig = readerAccess(name, ctx, systemNs, this);
            if (!kubeconfig) pending.push("mesh:reader-token");
            pending.push(...remoteSecrets(name, ctx, peers, systemNs, this));
            this.report.publish = { mesh: meshPublication(ctx, kubeconfig, ca!) };
            endpoints.istioEastWestGateway = `${serviceFqdn(EAST_WEST_GATEWAY.name, NAMESPACES.istio)}:${CROSS_NETWORK_PORT}`;
        }

        this.report.endpoints = endpoints;
        this.report.portForward = portForward;
        this.report.pending = pending;
        this.registerOutputs({ endpoints, pending });
    }

    trafficPolicy(name: string, args: TrafficPolicyArgs, parent: pulumi.Resource): void {
        meshTrafficPolicy(name, { ...args, ctx: this.ctx, ready: this.ready }, parent);
    }

    publicRoute(name: string, args: PublicRouteArgs, parent: pulumi.Resource): pulumi.Resource {
        return publicRoute(name, { ...args, ctx: this.ctx, ready: this.ready, gateway: PUBLIC_GATEWAY }, parent);
    }

    authorization(name: string, args: MeshAuthorizationArgs, parent: pulumi.Resource): void {
        meshAuthorization(name, { ...args, ctx: this.ctx, ready: this.ready }, parent);
    }
}

/** What uses the mesh's shared entry points, per kind (see components/admission.ts). */
export function sharedEntryUses(): Record<string, ScopedUse> {
    const gatewayApps = [INGRESS_GATEWAY.podLabels.istio, EAST_WEST_GATEWAY.podLabels.istio].map((a) => `'${a}'`);
    return {
        "ingress-class": {
            resources: [{ apiGroups: ["networking.k8s.io"], apiVersions: ["v1"], resources: ["ingresses"] }],
            uses:
                `(has(object.spec.ingressClassName) && object.spec.ingressClassName == '${INGRESS_CLASS}') || ` +
                `(has(object.metadata.annotations) && object.metadata.annotations.exists(k, k == 'kubernetes.io/ingress.class' && object.metadata.annotations[k] == '${INGRESS_CLASS}'))`,
            message: `IngressClass ${INGRESS_CLASS} (the platform's ingress gateway) serves the platform's namespaces only`,
        },
        "public-gateway": {
            resources: [{ apiGroups: ["networking.istio.io"], apiVersions: ["*"], resources: ["virtualservices"] }],
            uses: `has(object.spec.gateways) && object.spec.gateways.exists(g, g in ['${PUBLIC_GATEWAY}', '${NAMESPACES.istio}/cross-network-gateway'])`,
            message: `the platform's gateways (${PUBLIC_GATEWAY}) route for the platform's namespaces only`,
        },
        "gateway-pods": {
            resources: [{ apiGroups: ["networking.istio.io"], apiVersions: ["*"], resources: ["gateways"] }],
            uses: `has(object.spec.selector) && 'istio' in object.spec.selector && object.spec.selector['istio'] in [${gatewayApps.join(", ")}]`,
            message: "the platform's gateway pods take Gateways from the platform's namespaces only",
        },
    };
}

/** Values for a gateway release: service type, sizes and replicas per tier, placement. */
function gatewayValues(
    cfg: PlatformConfig,
    serviceType: string,
    selector: Record<string, string>,
): Record<string, unknown> {
    const prod = cfg.tier !== "dev";
    const place = scheduling(cfg, prod ? selector : undefined);
    return {
        service: { type: serviceType },
        resources: resourceRequirements(resourcesFor(cfg, "istio-gateway")),
        autoscaling: prod
            ? { enabled: true, minReplicas: 3, maxReplicas: 10, targetCPUUtilizationPercentage: 70 }
            : { enabled: false },
        ...(prod ? { podDisruptionBudget: { minAvailable: 2 } } : { replicaCount: 1 }),
        nodeSelector: place.nodeSelector ?? {},
        tolerations: place.tolerations ?? [],
        topologySpreadConstraints: place.topologySpreadConstraints ?? [],
    };
}
