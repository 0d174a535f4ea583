// The ClusterIssuer certificates use, chosen by tls.issuer: a dev CA (self-signed root) for laptops,
// ACME (Let's Encrypt by default) with an HTTP-01 or DNS-01 solver for the regions. Pure builders.
import type { PlatformConfig } from "../../config";
import { placement } from "../defaults";
import { INGRESS_CLASS } from "../names";

/** The one ClusterIssuer every edge Certificate names. */
export const CLUSTER_ISSUER = "platform-issuer";
/** Dev only: the self-signed issuer that signs the dev root CA, and the root CA's Certificate/Secret. */
export const DEV_CA = {
    bootstrapIssuer: "platform-selfsigned",
    certificate: "platform-dev-root-ca",
    secret: "platform-dev-root-ca",
} as const;
/** Secret (in cert-manager's namespace) holding DNS provider credentials for the DNS-01 solver. */
export const CERT_MANAGER_DNS_SECRET = "dns-credentials";

/** The DNS-01 solver for the configured provider: workload identity (ambient) unless a credential Secret is given. */
export function dns01Solver(cfg: PlatformConfig, hasCredentials: boolean): Record<string, unknown> {
    const ref = (key: string) => ({ name: CERT_MANAGER_DNS_SECRET, key });
    const zone = cfg.dns.zone ?? cfg.domain;
    switch (cfg.dns.provider) {
        case "aws":
            return {
                route53: {
                    ...(cfg.dns.aws?.region ? { region: cfg.dns.aws.region } : {}),
                    ...(cfg.dns.aws?.hostedZoneId ? { hostedZoneID: cfg.dns.aws.hostedZoneId } : {}),
                    ...(hasCredentials
                        ? { accessKeyIDSecretRef: ref("accessKeyId"), secretAccessKeySecretRef: ref("secretAccessKey") }
                        : {}),
                },
            };
        case "google":
            return {
                cloudDNS: {
                    project: cfg.dns.google!.project,
                    ...(hasCredentials ? { serviceAccountSecretRef: ref("serviceAccountKey") } : {}),
                },
            };
        case "azure": {
            const a = cfg.dns.azure!;
            return {
                azureDNS: {
                    subscriptionID: a.subscriptionId,
                    resourceGroupName: a.resourceGroup,
                    hostedZoneName: zone,
                    environment: "AzurePublicCloud",
                    ...(hasCredentials
                        ? { clientID: a.clientId, tenantID: a.tenantId, clientSecretSecretRef: ref("clientSecret") }
                        : { managedIdentity: a.clientId ? { clientID: a.clientId } : {} }),
                },
            };
        }
        case "cloudflare":
            return { cloudflare: { apiTokenSecretRef: ref("apiToken") } };
        default:
            throw new Error("dns.provider is required for the DNS-01 solver (config validation should have said so)");
    }
}

/** spec of the ClusterIssuer `platform-issuer`. */
export function clusterIssuerSpec(cfg: PlatformConfig, hasDnsCredentials: boolean): Record<string, unknown> {
    switch (cfg.tls.issuer) {
        case "self-signed":
            // Certificates chain to one dev root, so a laptop trusts the whole edge by importing one CA.
            return { ca: { secretName: DEV_CA.secret } };
        case "acme-http01":
        case "acme-dns01": {
            // HTTP-01 solver pods (cert-manager starts one per challenge) land where the stack's pods do.
            const place = placement(cfg);
            const solverPods =
                Object.keys(place.nodeSelector).length + place.tolerations.length > 0
                    ? { podTemplate: { spec: place } }
                    : {};
            const solver =
                cfg.tls.issuer === "acme-http01"
                    ? { http01: { ingress: { ingressClassName: INGRESS_CLASS, ...solverPods } } }
                    : {
                          selector: { dnsZones: [cfg.dns.zone ?? cfg.domain] },
                          dns01: dns01Solver(cfg, hasDnsCredentials),
                      };
            return {
                acme: {
                    server: cfg.tls.acmeServer ?? "https://acme-v02.api.letsencrypt.org/directory",
                    email: cfg.tls.acmeEmail,
                    privateKeySecretRef: { name: `${CLUSTER_ISSUER}-account-key` },
                    solvers: [solver],
                },
            };
        }
    }
}
