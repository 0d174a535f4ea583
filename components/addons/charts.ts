// The add-on charts, pinned, and their Helm values: static defaults from helm/<chart>.yaml merged with
// what each stack needs. Pure functions of the configuration (no Pulumi resources), so tests and the
// component share them.
import { CHART_PODS, type ChartPods } from "../chart-pods";
import { type PlatformConfig, resourcesFor } from "../../config";
import { nodeAndZoneSpread, placement, resourceRequirements } from "../defaults";
import type { input } from "@pulumi/kubernetes/types";
import { CHARTS as PINS, type ChartPin, chartValues, type Values } from "../helm";
import { INGRESS_CLASS } from "../names";

export interface ChartRef extends ChartPin {
    /** Fixed release name (runbooks and label selectors use it). */
    release: string;
    namespace: string;
    values: string;
}

/** The three add-on charts (pins in ../helm.ts), with their release names, namespaces and values files. */
export const CHARTS = {
    metricsServer: {
        ...PINS.metricsServer,
        release: "metrics-server",
        namespace: "kube-system",
        values: "metrics-server.yaml",
    },
    certManager: {
        ...PINS.certManager,
        release: "cert-manager",
        namespace: "cert-manager",
        values: "cert-manager.yaml",
    },
    externalDns: {
        ...PINS.externalDns,
        release: "external-dns",
        namespace: "external-dns",
        values: "external-dns.yaml",
    },
} as const satisfies Record<string, ChartRef>;

/** Tolerations from config, so add-ons run on the nodes tainted for the platform. */
export function tolerations(cfg: PlatformConfig) {
    return placement(cfg).tolerations;
}

const prod = (cfg: PlatformConfig) => cfg.tier !== "dev";

/** Two replicas, a PDB and spreading in production; one replica on a laptop. */
function highAvailability(cfg: PlatformConfig, podLabels: Record<string, string>) {
    if (!prod(cfg)) return {};
    return {
        topologySpreadConstraints: nodeAndZoneSpread(cfg, podLabels, "ScheduleAnyway"),
    };
}

export function metricsServerValues(cfg: PlatformConfig): Values {
    const local = cfg.cluster.profile.selfSignedKubeletCerts;
    return chartValues(CHARTS.metricsServer.values, {
        // Laptop kubelets serve self-signed certificates that no cluster CA signed.
        args: local ? ["--kubelet-insecure-tls"] : [],
        resources: resourceRequirements(resourcesFor(cfg, "metrics-server")),
        replicas: prod(cfg) ? 2 : 1,
        podDisruptionBudget: prod(cfg) ? { enabled: true, minAvailable: 1 } : { enabled: false },
        ...placement(cfg),
        ...highAvailability(cfg, CHART_PODS.metricsServer.selector),
    });
}

/** Whether cert-manager itself writes DNS records (ACME DNS-01), and so needs the DNS identity. */
export const usesDns01 = (cfg: PlatformConfig) => cfg.tls.issuer === "acme-dns01";

export function certManagerValues(cfg: PlatformConfig): Values {
    const replicas = prod(cfg) ? 2 : 1;
    const pdb = { podDisruptionBudget: prod(cfg) ? { enabled: true, minAvailable: 1 } : { enabled: false } };
    const spread = (pods: ChartPods) => highAvailability(cfg, pods.selector);
    const identity = usesDns01(cfg) ? cfg.dns.workloadIdentity : undefined;
    const size = (
        w: "cert-manager" | "cert-manager-webhook" | "cert-manager-cainjector" | "cert-manager-startupapicheck",
    ) => resourceRequirements(resourcesFor(cfg, w));
    return chartValues(CHARTS.certManager.values, {
        // Merged into every component's own selector (controller, webhook, cainjector, startupapicheck).
        global: { nodeSelector: placement(cfg).nodeSelector },
        replicaCount: replicas,
        resources: size("cert-manager"),
        ...pdb,
        ...spread(CHART_PODS.certManager),
        tolerations: tolerations(cfg),
        // The DNS-01 solver runs in the controller: it alone gets the cloud identity.
        serviceAccount: { annotations: identity?.annotations ?? {} },
        podLabels: identity?.podLabels ?? {},
        webhook: {
            replicaCount: replicas,
            resources: size("cert-manager-webhook"),
            ...pdb,
            ...spread(CHART_PODS.certManagerWebhook),
            tolerations: tolerations(cfg),
        },
        cainjector: {
            replicaCount: replicas,
            resources: size("cert-manager-cainjector"),
            ...pdb,
            ...spread(CHART_PODS.certManagerCainjector),
            tolerations: tolerations(cfg),
        },
        startupapicheck: { resources: size("cert-manager-startupapicheck"), tolerations: tolerations(cfg) },
    });
}

/** Names of the Secrets external-dns reads (when credentials come from config rather than workload identity). */
export const EXTERNAL_DNS_SECRETS = {
    credentials: "external-dns-credentials",
    azureConfig: "external-dns-azure",
} as const;
const AZURE_CONFIG_DIR = "/etc/external-dns/azure";
const GOOGLE_KEY_DIR = "/etc/external-dns/google";

/**
 * external-dns values: provider, zone, owner, and how it authenticates — workload identity
 * (ServiceAccount annotations, pod labels) or Secret references; never a credential itself.
 */
export function externalDnsValues(
    cfg: PlatformConfig,
    hasCredentials: boolean,
    istioSources: boolean,
    excludeDomains: string[] = [],
): Values {
    const provider = cfg.dns.provider!;
    const identity = cfg.dns.workloadIdentity;
    const secretEnv = (name: string, key: string) => ({
        name,
        valueFrom: { secretKeyRef: { name: EXTERNAL_DNS_SECRETS.credentials, key } },
    });
    const env: input.core.v1.EnvVar[] = [];
    // Only Ingresses of the platform's class publish names (a namespace the platform does not own cannot
    // use that class: components/admission.ts); names kept out of the zone (each with its subdomains), even
    // when a watched object carries them.
    const extraArgs: string[] = [
        `--ingress-class=${INGRESS_CLASS}`,
        ...excludeDomains.map((d) => `--exclude-domains=${d}`),
    ];
    const extraVolumes: input.core.v1.Volume[] = [];
    const extraVolumeMounts: input.core.v1.VolumeMount[] = [];
    switch (provider) {
        case "aws":
            extraArgs.push("--aws-zone-type=public");
            if (cfg.dns.aws?.hostedZoneId) extraArgs.push(`--zone-id-filter=${cfg.dns.aws.hostedZoneId}`);
            if (cfg.dns.aws?.region) env.push({ name: "AWS_REGION", value: cfg.dns.aws.region });
            if (hasCredentials)
                env.push(
                    secretEnv("AWS_ACCESS_KEY_ID", "accessKeyId"),
                    secretEnv("AWS_SECRET_ACCESS_KEY", "secretAccessKey"),
                );
            break;
        case "google":
            if (cfg.dns.google?.project) extraArgs.push(`--google-project=${cfg.dns.google.project}`);
            if (hasCredentials) {
                extraVolumes.push({
                    name: "google-credentials",
                    secret: {
                        secretName: EXTERNAL_DNS_SECRETS.credentials,
                        items: [{ key: "serviceAccountKey", path: "key.json" }],
                    },
                });
                extraVolumeMounts.push({ name: "google-credentials", mountPath: GOOGLE_KEY_DIR, readOnly: true });
                env.push({ name: "GOOGLE_APPLICATION_CREDENTIALS", value: `${GOOGLE_KEY_DIR}/key.json` });
            }
            break;
        case "azure":
            // The Azure provider reads its zone coordinates (and a service principal, if any) from a file.
            extraArgs.push(`--azure-config-file=${AZURE_CONFIG_DIR}/azure.json`);
            extraVolumes.push({ name: "azure-config", secret: { secretName: EXTERNAL_DNS_SECRETS.azureConfig } });
            extraVolumeMounts.push({ name: "azure-config", mountPath: AZURE_CONFIG_DIR, readOnly: true });
            break;
        case "cloudflare":
            env.push(secretEnv("CF_API_TOKEN", "apiToken"));
            break;
    }
    const base = chartValues(CHARTS.externalDns.values, {});
    return chartValues(CHARTS.externalDns.values, {
        // The Istio sources watch Gateway/VirtualService custom resources: without the mesh their CRDs
        // never exist and external-dns exits at start-up (the release would time out).
        sources: (base.sources as string[]).filter((s) => istioSources || !s.startsWith("istio-")),
        resources: resourceRequirements(resourcesFor(cfg, "external-dns")),
        provider: { name: provider },
        domainFilters: [cfg.dns.zone!],
        // Owner of the records this cluster writes: regions never delete each other's records.
        txtOwnerId: cfg.cluster.identifier,
        env,
        extraArgs,
        extraVolumes,
        extraVolumeMounts,
        serviceAccount: { annotations: identity?.annotations ?? {} },
        podLabels: identity?.podLabels ?? {},
        ...placement(cfg),
    });
}

/** The Azure provider's configuration file: zone coordinates plus either workload identity or the service principal. */
export function azureConfigFile(cfg: PlatformConfig, clientSecret?: string): string {
    const a = cfg.dns.azure!;
    return JSON.stringify(
        {
            tenantId: a.tenantId,
            subscriptionId: a.subscriptionId,
            resourceGroup: a.resourceGroup,
            ...(clientSecret
                ? { aadClientId: a.clientId, aadClientSecret: clientSecret }
                : { useWorkloadIdentityExtension: true, ...(a.clientId ? { aadClientId: a.clientId } : {}) }),
        },
        null,
        2,
    );
}
