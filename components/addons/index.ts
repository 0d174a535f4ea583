// Cluster add-ons a fresh managed or laptop cluster lacks, each switchable per stack (layers.*):
//  - ClusterAddons: metrics-server, so CPU-based HorizontalPodAutoscalers have data (off where the
//    provider runs one); cert-manager with the ClusterIssuer `platform-issuer` (dev CA, or ACME
//    HTTP-01/DNS-01), offered to other layers as the issuer contract;
//  - PublicDns: external-dns, writing the public, API and Redis Enterprise names into the stack's
//    zone only; it starts after the Istio CRDs it watches exist.
// A layer that is off creates nothing; custom resources wait for the release that installs their CRDs.
import { CHART_PODS } from "../chart-pods";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { dnsCredentials, type PlatformConfig } from "../../config";
import type { EgressRule, IssuerContract, LayerReport, StackContext } from "../contracts";
import { pinnedRelease } from "../helm";
import { HardenedNamespace } from "../namespace";
import { anyAddress, networkPolicy, scrapeRule, tcp, udp } from "../network";
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
import { platformNamespacesOnly, type ScopedUse } from "../admission";
import { CERT_MANAGER_DNS_SECRET, CLUSTER_ISSUER, clusterIssuerSpec, DEV_CA } from "./issuer";

export interface ClusterAddonsArgs {
    ctx: StackContext;
    /** Namespace Prometheus scrapes from, when the stack is monitored: the add-ons' metrics ports admit it. */
    scrapedFrom?: string;
}

export class ClusterAddons extends pulumi.ComponentResource {
    /** Endpoints, commands, pending links and published data for the stack outputs. */
    public readonly report: LayerReport = {};
    /** The ClusterIssuer certificates use (undefined when cert-manager is off). */
    public readonly issuer?: IssuerContract;
    public readonly metricsServer?: pulumi.Resource;

    constructor(name: string, args: ClusterAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:ClusterAddons", name, {}, opts);
        const { ctx } = args;
        const { cfg } = ctx;
        const o = { parent: this, provider: ctx.provider };
        const endpoints: Record<string, string> = {};
        const commands: Record<string, string> = {};

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
            const credentials = usesDns01(cfg) ? dnsCredentials() : undefined;
            const ns = new HardenedNamespace(
                `${name}-cert-manager-ns`,
                {
                    ctx,
                    name: CHARTS.certManager.namespace,
                    platformEgress: [
                        // API server (443 managed, 6443 laptops), ACME directories and cloud DNS APIs (443), HTTP-01
                        // self-checks through the public address (80), DNS-01 propagation checks against the zone's
                        // authoritative name servers (53). No selector names them and their addresses are not
                        // known: port-scoped, to any address but link-local ones (the metadata endpoint).
                        {
                            to: [anyAddress()],
                            ports: [
                                ...tcp(443, 6443),
                                ...(cfg.tls.issuer === "acme-http01" ? tcp(80) : []),
                                ...(usesDns01(cfg) ? [...tcp(53), ...udp(53)] : []),
                            ],
                        },
                        ...workloadIdentityEgress(cfg, usesDns01(cfg)),
                    ],
                },
                o,
            );
            const nsName = ns.name;
            const controller = CHART_PODS.certManager.selector;
            // The API server calls the admission webhook; its source address has no selector.
            networkPolicy(
                `${name}-cert-manager-webhook`,
                {
                    namespace: nsName,
                    name: "allow-webhook-from-api-server",
                    podSelector: CHART_PODS.certManagerWebhook.selector,
                    ingress: [{ ports: tcp(10250) }],
                },
                { ...o, dependsOn: [ns] },
            );
            metricsIngress(`${name}-cert-manager`, nsName, controller, 9402, args.scrapedFrom, {
                ...o,
                dependsOn: [ns],
            });

            const dependsOn: pulumi.Resource[] = [ns];
            if (credentials) {
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
            const issuer = clusterIssuer(name, cfg, !!credentials, nsName, certManager, o);
            this.issuer = {
                name: CLUSTER_ISSUER,
                ready: [certManager, issuer],
                acme: cfg.tls.issuer !== "self-signed",
            };
            endpoints.clusterIssuer = `ClusterIssuer ${CLUSTER_ISSUER} (${cfg.tls.issuer})`;
            if (cfg.tls.issuer === "self-signed")
                commands.devRootCa = `kubectl -n ${CHARTS.certManager.namespace} get secret ${DEV_CA.secret} -o jsonpath='{.data.ca\\.crt}' | base64 -d > dev-root-ca.crt`;
        }

        this.report = { endpoints, ...(Object.keys(commands).length > 0 ? { portForward: commands } : {}) };
        this.registerOutputs({ endpoints });
    }
}

export interface PublicDnsArgs {
    ctx: StackContext;
    /** The release that installs the Istio CRDs, when the mesh runs: external-dns watches Gateways and VirtualServices. */
    istioCrds?: pulumi.Resource;
    /** Namespace Prometheus scrapes from, when the stack is monitored. */
    scrapedFrom?: string;
    /** Names (with their subdomains) that must never be written, whatever source carries them. */
    excludeDomains?: string[];
}

/**
 * Before external-dns became a layer of its own its resources were children of ClusterAddons `addons`,
 * named `addons-external-dns*`: aliases keep their URNs (and the release) on stacks deployed then.
 */
const formerly = (name: string) => ({
    aliases: [
        { name: `addons-external-dns${name}`, parent: pulumi.createUrn("addons", "ecommerce:platform:ClusterAddons") },
    ],
});

/** external-dns, writing the stack's public names into its zone, owned by this cluster. */
export class PublicDns extends pulumi.ComponentResource {
    public readonly report: LayerReport = {};
    public readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: PublicDnsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:PublicDns", name, {}, opts);
        const { ctx } = args;
        const { cfg } = ctx;
        const o = { parent: this, provider: ctx.provider };
        const credentials = dnsCredentials();
        const ns = new HardenedNamespace(
            `${name}-ns`,
            {
                ctx,
                name: CHARTS.externalDns.namespace,
                // API server (443/6443) and the DNS provider's API (443), not the metadata endpoint unless
                // workload identity needs it.
                platformEgress: [{ to: [anyAddress()], ports: tcp(443, 6443) }, ...workloadIdentityEgress(cfg, true)],
            },
            { ...o, ...formerly("-ns") },
        );
        metricsIngress(name, ns.name, CHART_PODS.externalDns.selector, 7979, args.scrapedFrom, {
            ...o,
            dependsOn: [ns],
            ...formerly("-metrics"),
        });
        // The Istio sources fail at start-up until their CRDs exist: wait for the release that installs them.
        const dependsOn: pulumi.Resource[] = [ns, ...(args.istioCrds ? [args.istioCrds] : [])];
        if (credentials && cfg.dns.provider !== "azure") {
            dependsOn.push(
                new k8s.core.v1.Secret(
                    `${name}-credentials`,
                    {
                        metadata: { name: EXTERNAL_DNS_SECRETS.credentials, namespace: ns.name },
                        type: "Opaque",
                        stringData: credentials,
                    },
                    { ...o, dependsOn: [ns], ...formerly("-credentials") },
                ),
            );
        }
        if (cfg.dns.provider === "azure") {
            const file = credentials
                ? pulumi.secret(credentials.apply((c) => azureConfigFile(cfg, c.clientSecret)))
                : azureConfigFile(cfg);
            dependsOn.push(
                new k8s.core.v1.Secret(
                    `${name}-azure`,
                    {
                        metadata: { name: EXTERNAL_DNS_SECRETS.azureConfig, namespace: ns.name },
                        type: "Opaque",
                        stringData: { "azure.json": file },
                    },
                    { ...o, dependsOn: [ns], ...formerly("-azure") },
                ),
            );
        }
        this.release = release(
            ctx,
            `${name}-release`,
            CHARTS.externalDns,
            externalDnsValues(cfg, !!credentials, !!args.istioCrds, args.excludeDomains ?? []),
            ns.name,
            300,
            {
                ...o,
                dependsOn,
                ...formerly(""),
            },
        );
        this.report = {
            endpoints: {
                dnsZone: `${cfg.dns.zone} (external-dns ${cfg.dns.provider}, owner ${cfg.cluster.identifier})`,
            },
        };
        this.registerOutputs({});
    }
}

function release(
    ctx: StackContext,
    name: string,
    chart: ChartRef,
    values: Record<string, unknown>,
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
    // The ClusterIssuers sign for the platform's namespaces only (see components/admission.ts).
    platformNamespacesOnly(`${name}-issuer-scope`, "platform-cluster-issuer-scope", clusterIssuerUse(), o);
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

/** Certificates and CertificateRequests naming one of the platform's ClusterIssuers. */
export function clusterIssuerUse(): ScopedUse {
    const issuers = [CLUSTER_ISSUER, DEV_CA.bootstrapIssuer].map((i) => `'${i}'`).join(", ");
    return {
        resources: [
            { apiGroups: ["cert-manager.io"], apiVersions: ["*"], resources: ["certificates", "certificaterequests"] },
        ],
        uses: `has(object.spec.issuerRef.kind) && object.spec.issuerRef.kind == 'ClusterIssuer' && object.spec.issuerRef.name in [${issuers}]`,
        message: `the platform's ClusterIssuers (${CLUSTER_ISSUER}) issue certificates for the platform's namespaces only`,
    };
}

/**
 * The metadata endpoint, for the DNS writers only, and only where workload identity answers there:
 * on GKE with Cloud DNS, the GKE metadata server (169.254.169.254:80, served on the node by
 * gke-metadata-server: 169.254.169.252:988 with Dataplane V2, the node's 127.0.0.1:988 otherwise).
 * IRSA (EKS) and Azure workload identity exchange a projected token over HTTPS: no metadata endpoint.
 */
function workloadIdentityEgress(cfg: PlatformConfig, writesDns: boolean): EgressRule[] {
    const metadata = cfg.cluster.profile.metadataEndpoint;
    const gkeIdentity =
        cfg.dns.provider === "google" && cfg.cluster.distribution === "gke" && !!cfg.dns.workloadIdentity;
    if (!writesDns || !gkeIdentity || !metadata) return [];
    return [
        { to: [{ ipBlock: { cidr: `${metadata}/32` } }], ports: tcp(80) },
        { to: [{ ipBlock: { cidr: "169.254.169.252/32" } }, { ipBlock: { cidr: "127.0.0.1/32" } }], ports: tcp(988) },
    ];
}

/** Prometheus may scrape the add-on's metrics port, when the stack is monitored. */
function metricsIngress(
    name: string,
    namespace: pulumi.Input<string>,
    podLabels: Record<string, string>,
    port: number,
    scrapedFrom: string | undefined,
    opts: pulumi.CustomResourceOptions,
) {
    if (!scrapedFrom) return;
    networkPolicy(
        `${name}-metrics`,
        { namespace, name: "allow-metrics-scrape", podSelector: podLabels, ingress: [scrapeRule(scrapedFrom, port)] },
        opts,
    );
}
