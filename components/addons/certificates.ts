// Edge certificates: one cert-manager Certificate per public host, its Secret in the Istio ingress
// gateway's namespace (where the gateway reads credentialName and Ingress TLS secrets). The mesh
// component calls edgeCertificates() with its gateway namespace, so nothing here depends on the mesh.
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { StackContext } from "../defaults";
import { publicHosts } from "../hosts";
import type { ClusterAddons } from "./index";
import { ISTIO_INGRESS_CLASS } from "./issuer";

/** TLS Secrets the edge serves: the shop's Ingress and the API Gateway name them. */
export const EDGE_TLS_SECRETS = { shop: "warung-kopi-tls", api: "api-tls" } as const;

export interface EdgeCertificateArgs {
    ctx: StackContext;
    addons: ClusterAddons;
    /** The Istio ingress gateway's namespace (name or the Namespace's name output). */
    namespace: pulumi.Input<string>;
    /** Certificate and Secret name (fixed: Gateways and Ingresses reference it). */
    secretName: string;
    hosts: string[];
    /** E.g. the gateway Namespace resource. */
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

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

/**
 * A Certificate for `hosts`, stored in Secret `secretName` of `namespace`. Undefined when the
 * certManager layer is off (nothing is created).
 */
export function edgeCertificate(
    name: string,
    args: EdgeCertificateArgs,
    parent: pulumi.Resource,
): k8s.apiextensions.CustomResource | undefined {
    const { addons, ctx } = args;
    if (!addons.certManager || !addons.clusterIssuer) return undefined;
    const acme = ctx.cfg.tls.issuer !== "self-signed";
    return new k8s.apiextensions.CustomResource(
        name,
        {
            apiVersion: "cert-manager.io/v1",
            kind: "Certificate",
            metadata: {
                name: args.secretName,
                namespace: args.namespace,
                // ACME: serve a temporary certificate until the real one is issued, so the gateway's HTTPS
                // server exists (Istio skips a server whose secret is missing) while the challenge runs.
                annotations: acme ? { "cert-manager.io/issue-temporary-certificate": "true" } : undefined,
            },
            spec: certificateSpec(addons.clusterIssuer.name, args.secretName, args.hosts),
        },
        {
            parent,
            provider: ctx.provider,
            // After the release that installs the CRD and runs the webhook, and after the issuer it names.
            dependsOn: [addons.certManager, addons.clusterIssuer.resource, ...(args.dependsOn ?? [])],
        },
    );
}

export interface EdgeCertificatesArgs {
    ctx: StackContext;
    addons: ClusterAddons;
    /** The Istio ingress gateway's namespace. */
    namespace: pulumi.Input<string>;
    dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Certificates for every public host served through the ingress gateway: the shop (Secret
 * warung-kopi-tls, named by the shop's Ingress) and the API (Secret api-tls, the Gateway's
 * credentialName). Creates nothing when the certManager layer is off. (The HTTP-01 solver pods
 * cert-manager starts in that namespace listen on 8089; the mesh's NetworkPolicies admit the gateway.)
 */
export function edgeCertificates(name: string, args: EdgeCertificatesArgs, parent: pulumi.Resource) {
    const hosts = publicHosts(args.ctx.cfg);
    const cert = (key: keyof typeof EDGE_TLS_SECRETS, host: string) =>
        edgeCertificate(`${name}-${key}-tls`, { ...args, secretName: EDGE_TLS_SECRETS[key], hosts: [host] }, parent);
    const certificates = [cert("shop", hosts.shop), cert("api", hosts.api)].filter(
        (c): c is k8s.apiextensions.CustomResource => !!c,
    );

    return { certificates, secretNames: EDGE_TLS_SECRETS, ingressClassName: ISTIO_INGRESS_CLASS };
}
