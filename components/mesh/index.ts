// The service mesh layer: Istio (base, cni, istiod, ingress gateway), mesh-wide STRICT mTLS, the
// public entry point (Istio Gateway for the API host; Kubernetes Ingress of class "istio"), tracing,
// and in the regions the multi-primary wiring to the peer clusters.
//
// Order: namespaces -> base (CRDs) and cni in parallel -> istiod (after base, cni and cacerts) ->
// gateways; every Istio custom resource waits for base (its CRD) and istiod (its validating webhook).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { input } from "@pulumi/kubernetes/types";
import type { LayerReport } from "../outputs";
import { scheduling, type StackContext, namespacePeer } from "../defaults";
import type { PeerRegions } from "../peers";
import { edgeCertificates } from "../addons";
import type { ClusterAddons } from "../addons";
import { HardenedNamespace } from "../namespace";
import { publicHosts, serviceFqdn } from "../hosts";
import { istioCniPaths, istioPlatform } from "./values";
import { CHARTS, type ChartPin, chartValues, pinnedRelease } from "../helm";
import type { Resources } from "../../config";
import {
    CROSS_NETWORK_PORT,
    EAST_WEST_GATEWAY,
    ISTIO_NAMESPACE,
    meshCaCerts,
    meshPublication,
    readerKubeconfig,
    remoteSecrets,
} from "./multicluster";

export { ISTIO_NAMESPACE } from "./multicluster";
export { meshTrafficPolicy, publicRoute } from "./traffic";

/** Namespace of the ingress gateway (and of the `api-tls` certificate Secret it serves). */
export const INGRESS_NAMESPACE = "istio-ingress";
/** Helm release (and Deployment/Service) name of the ingress gateway; gives pods the label istio=ingressgateway. */
export const INGRESS_GATEWAY = "istio-ingressgateway";
/** Istio Gateway for the public API host, as VirtualServices reference it. */
export const PUBLIC_GATEWAY = `${INGRESS_NAMESPACE}/public-gateway`;
/** Ingress class served by the Istio ingress gateway. */
export const INGRESS_CLASS = "istio";
/** TLS Secret (in istio-ingress) the public gateway serves for the API host; created by the addons layer's Certificate. */
export const API_TLS_SECRET = "api-tls";
/** Name of the tracing extension provider in meshConfig. */
export const TRACING_PROVIDER = "otel-tracing";

export interface ServiceMeshArgs {
    ctx: StackContext;
    peers: PeerRegions;
    addons: ClusterAddons;
}

export class ServiceMesh extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    /** Resources that injected workloads and Istio custom resources must wait for (CRDs + istiod). */
    public readonly ready: pulumi.Resource[] = [];
    /** Egress every pod in an injected namespace needs (sidecar to istiod, spans to the collector). */
    public readonly workloadEgress: input.networking.v1.NetworkPolicyEgressRule[] = [];
    /** Peers allowed to reach application ports: the ingress gateway (and east-west gateway). */
    public readonly gatewayPeers: input.networking.v1.NetworkPolicyPeer[] = [];
    /** What each injected sidecar requests and may use (istiod global.proxy.resources): namespace quotas count it. */
    public readonly proxyResources: Resources;
    /** The Istio Gateway (namespace/name) public VirtualServices bind to. */
    public readonly publicGateway = PUBLIC_GATEWAY;
    /** The release that installs the Istio CRDs. */
    public readonly crds: k8s.helm.v3.Release;
    public readonly istiod: k8s.helm.v3.Release;
    public readonly ingressGateway: k8s.helm.v3.Release;
    /** IngressClass `istio`: Kubernetes Ingress objects of this class are served by the ingress gateway. */
    public readonly ingressClass: k8s.networking.v1.IngressClass;

    constructor(name: string, args: ServiceMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:ServiceMesh", name, {}, opts);
        const { ctx, peers, addons } = args;
        const { cfg, provider } = ctx;
        const o = { parent: this, provider };
        const prod = cfg.tier !== "dev";
        const multi = cfg.layers.multiCluster;
        const platform = istioPlatform(cfg.cluster.distribution);
        const hosts = publicHosts(cfg);

        this.proxyResources = prod
            ? { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "2000m", memory: "1Gi" } }
            : { requests: { cpu: "10m", memory: "40Mi" }, limits: { cpu: "500m", memory: "256Mi" } };

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
        // istio-system holds the istio-cni node agent (privileged: host network and CNI host paths), so it
        // is the documented exception to "restricted". It stays default-deny: each chart adds the
        // NetworkPolicy its pods need (global.networkPolicy.enabled), the east-west gateway gets one below.
        const systemNs = new HardenedNamespace(
            `${name}-istio-system`,
            {
                ctx,
                name: ISTIO_NAMESPACE,
                podSecurity: { privilegedBecause: "istio-cni node agent configures pod networking" },
                labels: multi ? { "topology.istio.io/network": cfg.mesh.network } : undefined,
            },
            { parent: this },
        );
        const ingressNs = new HardenedNamespace(
            `${name}-istio-ingress`,
            {
                ctx,
                name: INGRESS_NAMESPACE,
                podSecurity: "restricted",
            },
            { parent: this },
        );

        // ---- Control plane ------------------------------------------------------------------------
        this.crds = release(
            "base",
            {
                chart: CHARTS.istioBase,
                releaseName: "istio-base",
                namespace: ISTIO_NAMESPACE,
                timeout: 300,
                values: chartValues("istio-base.yaml", {}),
            },
            [systemNs],
        );

        const cni = release(
            "cni",
            {
                chart: CHARTS.istioCni,
                releaseName: "istio-cni",
                namespace: ISTIO_NAMESPACE,
                timeout: 600,
                values: chartValues("istio-cni.yaml", {
                    ...(platform ? { global: { platform } } : {}),
                    ...istioCniPaths(cfg.cluster.distribution),
                    resources: prod
                        ? { requests: { cpu: "100m", memory: "100Mi" }, limits: { memory: "256Mi" } }
                        : { requests: { cpu: "20m", memory: "48Mi" }, limits: { memory: "192Mi" } },
                }),
            },
            [systemNs],
        );

        // Multi-primary: the shared-root CA must be in place before istiod starts.
        const ca = multi ? meshCaCerts(name, ctx, peers, systemNs, this) : undefined;

        const tracing = cfg.layers.tracing;
        const istiodSelector = { app: "istiod" };
        const place = scheduling(cfg, prod ? istiodSelector : undefined);
        this.istiod = release(
            "istiod",
            {
                chart: CHARTS.istiod,
                releaseName: "istiod",
                namespace: ISTIO_NAMESPACE,
                timeout: 600,
                values: chartValues("istiod.yaml", {
                    ...(prod
                        ? {
                              autoscaleEnabled: true,
                              autoscaleMin: 2,
                              autoscaleMax: 5,
                              replicaCount: 2,
                              resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "2Gi" } },
                          }
                        : {
                              autoscaleEnabled: false,
                              replicaCount: 1,
                              resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
                          }),
                    nodeSelector: place.nodeSelector ?? {},
                    tolerations: place.tolerations ?? [],
                    topologySpreadConstraints: place.topologySpreadConstraints ?? [],
                    // Restart istiod when the plugged-in CA appears or its root changes (a public fingerprint, never the key).
                    ...(ca ? { podAnnotations: { "ecommerce-platform.io/mesh-root-ca": ca.rootFingerprint } } : {}),
                    global: {
                        ...(platform ? { platform } : {}),
                        // One replica in dev: a PodDisruptionBudget there would block every node drain.
                        defaultPodDisruptionBudget: { enabled: prod },
                        proxy: { resources: this.proxyResources },
                        ...(multi
                            ? {
                                  meshID: cfg.mesh.meshId,
                                  multiCluster: { clusterName: cfg.cluster.identifier },
                                  network: cfg.mesh.network,
                              }
                            : {}),
                    },
                    meshConfig: tracing
                        ? {
                              enableTracing: true,
                              extensionProviders: [
                                  {
                                      name: TRACING_PROVIDER,
                                      opentelemetry: {
                                          service: serviceFqdn("jaeger", cfg.monitoring.namespace),
                                          port: 4317,
                                      },
                                  },
                              ],
                          }
                        : {},
                }),
            },
            [this.crds, cni, ...(ca?.secret ? [ca.secret] : [])],
        );

        this.ready.push(this.crds, this.istiod);
        const crDeps = [this.crds, this.istiod];
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
                { ...o, dependsOn: [...crDeps, ...extra] },
            );

        // Mesh-wide mutual TLS: plain-text traffic to any sidecar is refused.
        istioResource(
            "peer-authentication",
            "security.istio.io/v1",
            "PeerAuthentication",
            { name: "default", namespace: ISTIO_NAMESPACE },
            { mtls: { mode: "STRICT" } },
        );

        if (tracing) {
            istioResource(
                "telemetry",
                "telemetry.istio.io/v1",
                "Telemetry",
                { name: "mesh-default", namespace: ISTIO_NAMESPACE },
                { tracing: [{ providers: [{ name: TRACING_PROVIDER }], randomSamplingPercentage: prod ? 5 : 100 }] },
            );
        }

        // ---- Ingress gateway ----------------------------------------------------------------------
        const ingressSelector = { istio: "ingressgateway" };
        this.ingressGateway = release(
            "ingress-gateway",
            {
                chart: CHARTS.istioGateway,
                releaseName: INGRESS_GATEWAY,
                namespace: INGRESS_NAMESPACE,
                timeout: 600,
                values: chartValues(
                    "istio-gateway.yaml",
                    gatewayValues(cfg, cfg.mesh.gatewayServiceType, { app: INGRESS_GATEWAY }),
                ),
            },
            [this.istiod, ingressNs],
        );

        // Kubernetes Ingresses of class `istio` (the shop's, cert-manager's HTTP-01 solver) are served by
        // this gateway. With ingressControllerMode STRICT, istiod serves only Ingresses whose IngressClass
        // names its controller, so the class must exist.
        this.ingressClass = new k8s.networking.v1.IngressClass(
            `${name}-ingress-class`,
            {
                metadata: { name: INGRESS_CLASS },
                spec: { controller: "istio.io/ingress-controller" },
            },
            o,
        );

        // Edge certificates (addons layer): Secrets api-tls and warung-kopi-tls next to the gateway.
        edgeCertificates(`${name}-edge`, { ctx, addons, namespace: INGRESS_NAMESPACE, dependsOn: [ingressNs] }, this);

        // The public API host. With a cluster issuer, the addons layer issues Secret `api-tls` in
        // istio-ingress and HTTPS is served from it. Plain HTTP is redirected to HTTPS, except with
        // ACME HTTP-01: there port 80 of the API host is left to cert-manager's solver (an Ingress of
        // class istio), because a Gateway server for the same host and port hides the challenge path
        // (istio/istio#27643) and a redirect would send the CA to an HTTPS route without it.
        const https = !!addons.clusterIssuer;
        const httpServer = { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: [hosts.api] };
        istioResource(
            "public-gateway",
            "networking.istio.io/v1",
            "Gateway",
            { name: "public-gateway", namespace: INGRESS_NAMESPACE },
            {
                selector: ingressSelector,
                servers: https
                    ? [
                          {
                              port: { number: 443, name: "https", protocol: "HTTPS" },
                              hosts: [hosts.api],
                              tls: { mode: "SIMPLE", credentialName: API_TLS_SECRET, minProtocolVersion: "TLSV1_2" },
                          },
                          ...(cfg.tls.issuer === "acme-http01"
                              ? []
                              : [{ ...httpServer, tls: { httpsRedirect: true } }]),
                      ]
                    : [httpServer],
            },
            [ingressNs],
        );

        if (cfg.layers.certManager) {
            // HTTP-01 solver pods cert-manager starts next to the Certificate (istio-ingress, default-deny)
            // must accept the challenge request from the gateway.
            new k8s.networking.v1.NetworkPolicy(
                `${name}-allow-acme-solver`,
                {
                    metadata: { name: "allow-acme-http01-solver", namespace: INGRESS_NAMESPACE },
                    spec: {
                        podSelector: { matchLabels: { "acme.cert-manager.io/http01-solver": "true" } },
                        policyTypes: ["Ingress"],
                        ingress: [
                            {
                                from: [{ podSelector: { matchLabels: ingressSelector } }],
                                ports: [{ protocol: "TCP", port: 8089 }],
                            },
                        ],
                    },
                },
                { ...o, dependsOn: [ingressNs] },
            );
        }

        // ---- What injected workloads need -------------------------------------------------------
        this.workloadEgress.push({
            to: [namespacePeer(ISTIO_NAMESPACE, istiodSelector)],
            ports: [{ protocol: "TCP", port: 15012 }], // xDS and certificate signing
        });
        if (tracing) {
            this.workloadEgress.push({
                to: [namespacePeer(cfg.monitoring.namespace)],
                ports: [{ protocol: "TCP", port: 4317 }], // OTLP spans to Jaeger
            });
        }
        this.gatewayPeers.push({
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": INGRESS_NAMESPACE } },
            podSelector: { matchLabels: ingressSelector },
        });

        const endpoints: Record<string, pulumi.Input<string>> = {
            istioIngressGateway: serviceFqdn(INGRESS_GATEWAY, INGRESS_NAMESPACE),
            publicApi: `${https ? "https" : "http"}://${hosts.api}`,
        };
        const portForward: Record<string, string> = {
            istioIngressGateway: `kubectl -n ${INGRESS_NAMESPACE} port-forward svc/${INGRESS_GATEWAY} 8080:80 8443:443`,
        };
        const pending: string[] = [...(ca?.pending ?? [])];

        // ---- Multi-primary across regions -------------------------------------------------------
        if (multi) {
            const eastWestSelector = { istio: "eastwestgateway" };
            release(
                "east-west-gateway",
                {
                    chart: CHARTS.istioGateway,
                    releaseName: EAST_WEST_GATEWAY,
                    namespace: ISTIO_NAMESPACE,
                    timeout: 900,
                    values: chartValues("istio-gateway.yaml", {
                        ...gatewayValues(cfg, "LoadBalancer", { app: EAST_WEST_GATEWAY }),
                        networkGateway: cfg.mesh.network,
                    }),
                },
                [this.istiod],
            );
            // The chart's policy opens only its default ports; peers' sidecars arrive on the mTLS passthrough port.
            new k8s.networking.v1.NetworkPolicy(
                `${name}-allow-cross-network`,
                {
                    metadata: { name: "allow-cross-network", namespace: ISTIO_NAMESPACE },
                    spec: {
                        podSelector: { matchLabels: eastWestSelector },
                        policyTypes: ["Ingress"],
                        ingress: [{ ports: [{ protocol: "TCP", port: CROSS_NETWORK_PORT }] }],
                    },
                },
                { ...o, dependsOn: [systemNs] },
            );
            istioResource(
                "cross-network-gateway",
                "networking.istio.io/v1",
                "Gateway",
                { name: "cross-network-gateway", namespace: ISTIO_NAMESPACE },
                {
                    selector: eastWestSelector,
                    servers: [
                        {
                            port: { number: CROSS_NETWORK_PORT, name: "tls", protocol: "TLS" },
                            tls: { mode: "AUTO_PASSTHROUGH" },
                            hosts: ["*.local"],
                        },
                    ],
                },
            );

            // Sidecars reach endpoints in other networks through the peers' east-west gateways (public addresses).
            this.workloadEgress.push({
                to: [{ ipBlock: { cidr: "0.0.0.0/0" } }],
                ports: [{ protocol: "TCP", port: CROSS_NETWORK_PORT }],
            });
            this.gatewayPeers.push({
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ISTIO_NAMESPACE } },
                podSelector: { matchLabels: eastWestSelector },
            });

            const kubeconfig = readerKubeconfig(name, ctx, this.crds, this);
            pending.push(...remoteSecrets(name, ctx, peers, systemNs, this));
            this.report.publish = { mesh: meshPublication(ctx, kubeconfig, ca!) };
            endpoints.istioEastWestGateway = `${EAST_WEST_GATEWAY}.${ISTIO_NAMESPACE}.svc.cluster.local:${CROSS_NETWORK_PORT}`;
        }

        this.report.endpoints = endpoints;
        this.report.portForward = portForward;
        this.report.pending = pending;
        this.registerOutputs({ endpoints, pending });
    }
}

/** Values for a gateway release: service type, sizes and replicas per tier, placement. */
function gatewayValues(
    cfg: StackContext["cfg"],
    serviceType: string,
    selector: Record<string, string>,
): Record<string, unknown> {
    const prod = cfg.tier !== "dev";
    const place = scheduling(cfg, prod ? selector : undefined);
    return {
        service: { type: serviceType },
        resources: prod
            ? { requests: { cpu: "200m", memory: "256Mi" }, limits: { cpu: "2000m", memory: "1Gi" } }
            : { requests: { cpu: "25m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
        autoscaling: prod
            ? { enabled: true, minReplicas: 3, maxReplicas: 10, targetCPUUtilizationPercentage: 70 }
            : { enabled: false },
        ...(prod ? { podDisruptionBudget: { minAvailable: 2 } } : { replicaCount: 1 }),
        nodeSelector: place.nodeSelector ?? {},
        tolerations: place.tolerations ?? [],
        topologySpreadConstraints: place.topologySpreadConstraints ?? [],
    };
}
