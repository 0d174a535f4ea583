// Edge certificates: one cert-manager Certificate per public host, its Secret in the Istio ingress
// gateway's namespace (where the gateway reads credentialName and Ingress TLS secrets), issued by
// the stack's ClusterIssuer (the issuer contract).
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { IssuerContract, StackContext } from "./contracts";
import { publicHosts } from "./hosts";
import { TLS_SECRETS } from "./names";

/** The Certificate spec for some hosts, issued by the stack's ClusterIssuer. Pure. */
export function certificateSpec(issuer: string, secretName: string, hosts: string[]) {
    return {
        secretName,
        dnsNames: [...hosts],
        issuerRef: { name: issuer, kind: "ClusterIssuer", group: "cert-manager.io" },
        duration: "2160h",
        renewBefore: "720h",
        privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
        usages: ["digital signature", "key encipherment", "server auth"],
    };
}

export interface EdgeCertificatesArgs {
    ctx: StackContext;
    issuer: IssuerContract;
    /** The Istio ingress gateway's namespace. */
    namespace: pulumi.Input<string>;
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Certificates for every public host served through the ingress gateway: the shop (Secret
 * warung-kopi-tls, named by the shop's Ingress) and the API (Secret api-tls, the Gateway's
 * credentialName).
 */
export function edgeCertificates(
    name: string,
    args: EdgeCertificatesArgs,
    parent: pulumi.Resource,
): k8s.apiextensions.CustomResource[] {
    const hosts = publicHosts(args.ctx.cfg);
    const certificate = (key: keyof typeof TLS_SECRETS, host: string) =>
        new k8s.apiextensions.CustomResource(
            `${name}-${key}-tls`,
            {
                apiVersion: "cert-manager.io/v1",
                kind: "Certificate",
                metadata: {
                    name: TLS_SECRETS[key],
                    namespace: args.namespace,
                    // ACME: serve a temporary certificate until the real one is issued, so the gateway's HTTPS
                    // server exists (Istio skips a server whose secret is missing) while the challenge runs.
                    annotations: args.issuer.acme
                        ? { "cert-manager.io/issue-temporary-certificate": "true" }
                        : undefined,
                },
                spec: certificateSpec(args.issuer.name, TLS_SECRETS[key], [host]),
            },
            // After the release that installs the CRD and runs the webhook, and after the issuer it names.
            { parent, provider: args.ctx.provider, dependsOn: [...args.issuer.ready, ...(args.dependsOn ?? [])] },
        );
    return [certificate("shop", hosts.shop), certificate("api", hosts.api)];
}
