// Cluster add-ons a fresh managed or laptop cluster lacks, each switchable per stack (layers.*):
//  - metrics-server, so CPU-based HorizontalPodAutoscalers have data (off where the provider runs one);
//  - cert-manager with the ClusterIssuer `platform-issuer` (dev CA, or ACME HTTP-01/DNS-01), and
//    edgeCertificates() for the Istio ingress gateway's hosts;
//  - external-dns, writing the public, API and Redis Enterprise names into the stack's zone only.
// A layer that is off creates nothing; custom resources wait for the release that installs their CRDs.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { dnsCredentials, type PlatformConfig } from "../../config";
import type { LayerReport } from "../outputs";
import type { StackContext } from "../defaults";
import { HardenedNamespace } from "../namespace";
import { pinnedRelease } from "../helm";
import {
    azureConfigFile,
    certManagerValues,
    CHARTS,
    type ChartRef,
    EXTERNAL_DNS_SECRETS,
    externalDnsValues,
    metricsServerValues,
    usesDns01,
} from "./charts";
import { CERT_MANAGER_DNS_SECRET, CLUSTER_ISSUER, clusterIssuerSpec, DEV_CA } from "./issuer";
import { scrapeRule } from "../defaults";

export { edgeCertificate, edgeCertificates, EDGE_TLS_SECRETS, certificateSpec } from "./certificates";
export { CHARTS } from "./charts";
export { CLUSTER_ISSUER, DEV_CA } from "./issuer";

export interface ClusterAddonsArgs {
    ctx: StackContext;
}

/** Ports a DNS writer or ACME client needs to reach outside the cluster (no stable selector exists for them). */
const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: "TCP", port }));

export class ClusterAddons extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    /** cert-manager release: Certificates and ClusterIssuers depend on it (undefined when off). */
    public readonly certManager?: pulumi.Resource;
    /** The ClusterIssuer certificates use, and the resource to depend on (undefined when off). */
    public readonly clusterIssuer?: { name: string; resource: pulumi.Resource };
    public readonly metricsServer?: pulumi.Resource;
    public readonly externalDns?: pulumi.Resource;

    constructor(name: string, args: ClusterAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:ClusterAddons", name, {}, opts);
        const { ctx } = args;
        const { cfg } = ctx;
        const o = { parent: this, provider: ctx.provider };
        const endpoints: Record<string, string> = {};
        const commands: Record<string, string> = {};
        const credentials = cfg.layers.certManager || cfg.layers.externalDns ? dnsCredentials() : undefined;

        if (cfg.layers.metricsServer) {
            // kube-system exists on every cluster and is not ours to label or fence.
            this.metricsServer = release(
                ctx,
                `${name}-metrics-server`,
                CHARTS.metricsServer,
                metricsServerValues(cfg),
                CHARTS.metricsServer.namespace,
                300,
                o,
            );
            endpoints.metricsApi = "APIService v1beta1.metrics.k8s.io (metrics-server, kube-system)";
        }

        if (cfg.layers.certManager) {
            const ns = new HardenedNamespace(
                `${name}-cert-manager-ns`,
                {
                    ctx,
                    name: CHARTS.certManager.namespace,
                    platformEgress: [
                        // API server (443 managed, 6443 laptops), ACME directories and cloud DNS APIs (443), HTTP-01
                        // self-checks through the public address (80), DNS-01 propagation checks against the zone's
                        // authoritative name servers (53). None has a selector, so these are port-scoped allows.
                        { ports: [...tcp(443, 6443, 80, 53), { protocol: "UDP", port: 53 }] },
                        ...workloadIdentityEgress(cfg, usesDns01(cfg)),
                    ],
                },
                o,
            );
            const nsName = ns.name;
            new k8s.networking.v1.NetworkPolicy(
                `${name}-cert-manager-webhook`,
                {
                    metadata: { name: "allow-webhook-from-api-server", namespace: nsName },
                    spec: {
                        podSelector: {
                            matchLabels: {
                                "app.kubernetes.io/instance": CHARTS.certManager.release,
                                "app.kubernetes.io/component": "webhook",
                            },
                        },
                        policyTypes: ["Ingress"],
                        // The API server calls the admission webhook; its source address has no selector.
                        ingress: [{ ports: tcp(10250) }],
                    },
                },
                { ...o, dependsOn: [ns] },
            );
            metricsIngress(
                `${name}-cert-manager`,
                cfg,
                nsName,
                {
                    "app.kubernetes.io/instance": CHARTS.certManager.release,
                    "app.kubernetes.io/component": "controller",
                },
                9402,
                { ...o, dependsOn: [ns] },
            );

            const dependsOn: pulumi.Resource[] = [ns];
            if (usesDns01(cfg) && credentials) {
                dependsOn.push(
                    new k8s.core.v1.Secret(
                        `${name}-cert-manager-dns-credentials`,
                        {
                            metadata: { name: CERT_MANAGER_DNS_SECRET, namespace: nsName },
                            type: "Opaque",
                            stringData: credentials,
                        },
                        { ...o, dependsOn: [ns] },
                    ),
                );
            }
            const certManager = release(
                ctx,
                `${name}-cert-manager`,
                CHARTS.certManager,
                certManagerValues(cfg),
                nsName,
                600,
                { ...o, dependsOn },
            );
            this.certManager = certManager;
            this.clusterIssuer = {
                name: CLUSTER_ISSUER,
                resource: clusterIssuer(name, cfg, !!credentials, nsName, certManager, o),
            };
            endpoints.clusterIssuer = `ClusterIssuer ${CLUSTER_ISSUER} (${cfg.tls.issuer})`;
            if (cfg.tls.issuer === "self-signed")
                commands.devRootCa = `kubectl -n ${CHARTS.certManager.namespace} get secret ${DEV_CA.secret} -o jsonpath='{.data.ca\\.crt}' | base64 -d > dev-root-ca.crt`;
        }

        if (cfg.layers.externalDns) {
            const ns = new HardenedNamespace(
                `${name}-external-dns-ns`,
                {
                    ctx,
                    name: CHARTS.externalDns.namespace,
                    // API server (443/6443) and the DNS provider's API (443); instance metadata (80).
                    platformEgress: [{ ports: tcp(443, 6443, 80) }, ...workloadIdentityEgress(cfg, true)],
                },
                o,
            );
            metricsIngress(
                `${name}-external-dns`,
                cfg,
                ns.name,
                { "app.kubernetes.io/instance": CHARTS.externalDns.release },
                7979,
                { ...o, dependsOn: [ns] },
            );
            const dependsOn: pulumi.Resource[] = [ns];
            if (credentials && cfg.dns.provider !== "azure") {
                dependsOn.push(
                    new k8s.core.v1.Secret(
                        `${name}-external-dns-credentials`,
                        {
                            metadata: { name: EXTERNAL_DNS_SECRETS.credentials, namespace: ns.name },
                            type: "Opaque",
                            stringData: credentials,
                        },
                        { ...o, dependsOn: [ns] },
                    ),
                );
            }
            if (cfg.dns.provider === "azure") {
                const file = credentials
                    ? pulumi.secret(credentials.apply((c) => azureConfigFile(cfg, c.clientSecret)))
                    : azureConfigFile(cfg);
                dependsOn.push(
                    new k8s.core.v1.Secret(
                        `${name}-external-dns-azure`,
                        {
                            metadata: { name: EXTERNAL_DNS_SECRETS.azureConfig, namespace: ns.name },
                            type: "Opaque",
                            stringData: { "azure.json": file },
                        },
                        { ...o, dependsOn: [ns] },
                    ),
                );
            }
            this.externalDns = release(
                ctx,
                `${name}-external-dns`,
                CHARTS.externalDns,
                externalDnsValues(cfg, !!credentials),
                ns.name,
                300,
                { ...o, dependsOn },
            );
            endpoints.dnsZone = `${cfg.dns.zone} (external-dns ${cfg.dns.provider}, owner ${cfg.cluster.identifier})`;
        }

        this.report = {
            endpoints,
            ...(Object.keys(commands).length > 0 ? { portForward: commands } : {}),
        };
        this.registerOutputs({ endpoints });
    }
}

function release(
    ctx: StackContext,
    name: string,
    chart: ChartRef,
    values: Record<string, any>,
    namespace: pulumi.Input<string>,
    timeoutSeconds: number,
    opts: pulumi.CustomResourceOptions,
): k8s.helm.v3.Release {
    return pinnedRelease(name, { ctx, chart, releaseName: chart.release, namespace, values, timeoutSeconds }, opts);
}

/** The ClusterIssuer `platform-issuer` (and, for dev, the self-signed root CA it signs with), after the release. */
function clusterIssuer(
    name: string,
    cfg: PlatformConfig,
    hasCredentials: boolean,
    namespace: pulumi.Input<string>,
    certManager: pulumi.Resource,
    o: { parent: pulumi.Resource; provider: k8s.Provider },
): pulumi.Resource {
    const after = (...deps: pulumi.Resource[]) => ({ ...o, dependsOn: [certManager, ...deps] });
    const issuerDeps: pulumi.Resource[] = [];
    if (cfg.tls.issuer === "self-signed") {
        const bootstrap = new k8s.apiextensions.CustomResource(
            `${name}-selfsigned-issuer`,
            {
                apiVersion: "cert-manager.io/v1",
                kind: "ClusterIssuer",
                metadata: { name: DEV_CA.bootstrapIssuer },
                spec: { selfSigned: {} },
            },
            after(),
        );
        issuerDeps.push(
            new k8s.apiextensions.CustomResource(
                `${name}-dev-root-ca`,
                {
                    apiVersion: "cert-manager.io/v1",
                    kind: "Certificate",
                    metadata: { name: DEV_CA.certificate, namespace },
                    spec: {
                        isCA: true,
                        commonName: `Warung Kopi dev root CA (${cfg.cluster.identifier})`,
                        secretName: DEV_CA.secret,
                        duration: "87600h",
                        renewBefore: "720h",
                        privateKey: { algorithm: "ECDSA", size: 256 },
                        issuerRef: { name: DEV_CA.bootstrapIssuer, kind: "ClusterIssuer", group: "cert-manager.io" },
                    },
                },
                after(bootstrap),
            ),
        );
    }
    return new k8s.apiextensions.CustomResource(
        `${name}-cluster-issuer`,
        {
            apiVersion: "cert-manager.io/v1",
            kind: "ClusterIssuer",
            metadata: { name: CLUSTER_ISSUER },
            spec: clusterIssuerSpec(cfg, hasCredentials),
        },
        after(...issuerDeps),
    );
}

/** Egress to the node's metadata server, which GKE workload identity answers on 988. */
function workloadIdentityEgress(cfg: PlatformConfig, writesDns: boolean) {
    return writesDns && cfg.dns.provider === "google" ? [{ ports: tcp(988) }] : [];
}

/** Prometheus (in the monitoring namespace) may scrape the add-on's metrics port; only when monitoring is on. */
function metricsIngress(
    name: string,
    cfg: PlatformConfig,
    namespace: pulumi.Input<string>,
    podLabels: Record<string, string>,
    port: number,
    opts: pulumi.CustomResourceOptions,
) {
    if (!cfg.layers.monitoring) return;
    new k8s.networking.v1.NetworkPolicy(
        `${name}-metrics`,
        {
            metadata: { name: "allow-metrics-scrape", namespace },
            spec: {
                podSelector: { matchLabels: podLabels },
                policyTypes: ["Ingress"],
                ingress: [scrapeRule(cfg.monitoring.namespace, port)],
            },
        },
        opts,
    );
}
