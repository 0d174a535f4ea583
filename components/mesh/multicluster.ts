// Multi-primary across regions on different networks: one mesh ID, a network per region, a shared
// root CA with an intermediate per region (Secret `cacerts`), an east-west gateway, and a remote
// secret per peer cluster so each istiod discovers the peers' endpoints.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import type { PublishedForPeers, StackContext } from "../contracts";
import { partLabels } from "../labels";
import { NAMESPACES } from "../names";
import type { PeerRegions } from "../peers";

const ISTIO_NAMESPACE = NAMESPACES.istio;
/** Service account the base chart creates for peers' istiod to read this cluster (remote secrets). */
export const READER_SERVICE_ACCOUNT = "istio-reader-service-account";

const CA_USES = ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"];

export interface MeshCa {
    /** The `cacerts` Secret istiod must start with; undefined while the root holder has not published. */
    secret?: k8s.core.v1.Secret;
    /** The shared root, when this region holds it (published for the peers as a secret). */
    rootCa?: { certPem: pulumi.Output<string>; keyPem: pulumi.Output<string> };
    /** A short fingerprint of the root certificate (public), or "self-signed" while pending. */
    rootFingerprint: pulumi.Output<string>;
    pending: string[];
}

const fingerprint = (pem: pulumi.Input<string>) =>
    pulumi.unsecret(pulumi.output(pem)).apply((p) =>
        createHash("sha256")
            .update(p ?? "")
            .digest("hex")
            .slice(0, 16),
    );

/**
 * The mesh CA for this region. The region named in `mesh.rootCaFrom` generates the root; every
 * region signs its own intermediate with it. A region whose root holder has not published yet gets
 * no `cacerts` (istiod starts with its self-signed CA) and reports `mesh:root-ca` pending.
 */
export function meshCaCerts(
    name: string,
    ctx: StackContext,
    peers: PeerRegions,
    namespace: pulumi.Resource,
    parent: pulumi.Resource,
): MeshCa {
    const { cfg, provider } = ctx;
    const opts = { parent };
    let root: { certPem: pulumi.Output<string>; keyPem: pulumi.Output<string> } | undefined;
    let rootCa: MeshCa["rootCa"];

    if (cfg.mesh.rootCaFrom === cfg.region) {
        const rootKey = new tls.PrivateKey(`${name}-root-ca-key`, { algorithm: "RSA", rsaBits: 4096 }, opts);
        const rootCert = new tls.SelfSignedCert(
            `${name}-root-ca`,
            {
                privateKeyPem: rootKey.privateKeyPem,
                subject: { commonName: `${cfg.mesh.meshId} root CA`, organization: cfg.mesh.meshId },
                isCaCertificate: true,
                validityPeriodHours: 10 * 365 * 24,
                earlyRenewalHours: 365 * 24,
                allowedUses: CA_USES,
            },
            opts,
        );
        root = { certPem: rootCert.certPem, keyPem: rootKey.privateKeyPem };
        rootCa = root;
    } else {
        const published = peers.peers.find((p) => p.region === cfg.mesh.rootCaFrom)?.published?.mesh?.rootCa;
        if (published) root = { certPem: pulumi.output(published.certPem), keyPem: pulumi.secret(published.keyPem) };
    }
    if (!root) return { rootFingerprint: pulumi.output("self-signed"), pending: ["mesh:root-ca"] };

    const clusterName = cfg.cluster.identifier;
    const key = new tls.PrivateKey(`${name}-intermediate-ca-key`, { algorithm: "RSA", rsaBits: 4096 }, opts);
    const csr = new tls.CertRequest(
        `${name}-intermediate-ca-csr`,
        {
            privateKeyPem: key.privateKeyPem,
            subject: {
                commonName: `${cfg.mesh.meshId} intermediate CA ${clusterName}`,
                organization: cfg.mesh.meshId,
                organizationalUnit: clusterName,
            },
            dnsNames: [`istiod.${ISTIO_NAMESPACE}.svc`],
        },
        opts,
    );
    const cert = new tls.LocallySignedCert(
        `${name}-intermediate-ca`,
        {
            certRequestPem: csr.certRequestPem,
            caCertPem: root.certPem,
            caPrivateKeyPem: root.keyPem,
            isCaCertificate: true,
            validityPeriodHours: 3 * 365 * 24,
            earlyRenewalHours: 90 * 24,
            allowedUses: CA_USES,
        },
        opts,
    );

    const secret = new k8s.core.v1.Secret(
        `${name}-cacerts`,
        {
            metadata: {
                name: "cacerts",
                namespace: ISTIO_NAMESPACE,
                labels: partLabels("istio"),
            },
            type: "Opaque",
            stringData: {
                "ca-cert.pem": cert.certPem,
                "ca-key.pem": pulumi.secret(key.privateKeyPem),
                "root-cert.pem": root.certPem,
                "cert-chain.pem": pulumi.interpolate`${cert.certPem}${root.certPem}`,
            },
        },
        { parent, provider, dependsOn: [namespace] },
    );

    return { secret, rootCa, rootFingerprint: fingerprint(root.certPem), pending: [] };
}

/**
 * A long-lived token for this cluster's istio-reader service account, and a kubeconfig built from it
 * (a Pulumi secret) that the peers turn into remote secrets.
 */
export function readerKubeconfig(
    name: string,
    ctx: StackContext,
    base: pulumi.Resource,
    parent: pulumi.Resource,
): pulumi.Output<string> {
    const { cfg, provider } = ctx;
    const token = new k8s.core.v1.Secret(
        `${name}-reader-token`,
        {
            metadata: {
                name: "istio-reader-token",
                namespace: ISTIO_NAMESPACE,
                annotations: { "kubernetes.io/service-account.name": READER_SERVICE_ACCOUNT },
            },
            type: "kubernetes.io/service-account-token",
        },
        { parent, provider, dependsOn: [base] },
    ); // the service account comes with the base chart
    const clusterName = cfg.cluster.identifier;
    // Pulumi waits until the token controller has filled in `token` and `ca.crt`.
    return pulumi.secret(
        token.data.apply((data) =>
            stringify({
                apiVersion: "v1",
                kind: "Config",
                clusters: [
                    {
                        name: clusterName,
                        cluster: {
                            server: cfg.cluster.apiServer,
                            "certificate-authority-data": data?.["ca.crt"] ?? "",
                        },
                    },
                ],
                users: [
                    {
                        name: clusterName,
                        user: { token: data?.token ? Buffer.from(data.token, "base64").toString("utf8") : "" },
                    },
                ],
                contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
                "current-context": clusterName,
            }),
        ),
    );
}

/** One remote secret per peer that published its reader kubeconfig; the others are reported pending. */
export function remoteSecrets(
    name: string,
    ctx: StackContext,
    peers: PeerRegions,
    namespace: pulumi.Resource,
    parent: pulumi.Resource,
): string[] {
    const { ready, pending } = peers.split("mesh");
    for (const peer of ready) {
        const mesh = peer.published.mesh!;
        if (!mesh.readerKubeconfig) {
            pending.push(`mesh:${peer.region}`);
            continue;
        }
        new k8s.core.v1.Secret(
            `${name}-remote-${peer.region}`,
            {
                metadata: {
                    name: `istio-remote-secret-${mesh.clusterName}`,
                    namespace: ISTIO_NAMESPACE,
                    labels: { "istio/multiCluster": "true" },
                    annotations: { "networking.istio.io/cluster": mesh.clusterName },
                },
                type: "Opaque",
                stringData: { [mesh.clusterName]: pulumi.secret(mesh.readerKubeconfig) },
            },
            { parent, provider: ctx.provider, dependsOn: [namespace] },
        );
    }
    return pending;
}

/** What this region publishes for its peers' meshes. */
export function meshPublication(
    ctx: StackContext,
    kubeconfig: pulumi.Output<string>,
    ca: MeshCa,
): pulumi.Output<NonNullable<PublishedForPeers["mesh"]>> {
    const { cfg } = ctx;
    return pulumi.output({
        clusterName: cfg.cluster.identifier,
        network: cfg.mesh.network,
        readerKubeconfig: kubeconfig,
        ...(ca.rootCa ? { rootCa: { certPem: ca.rootCa.certPem, keyPem: pulumi.secret(ca.rootCa.keyPem) } } : {}),
    });
}
