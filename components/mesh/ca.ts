// The mesh's certificate authority across regions. No CA private key leaves the stack that created
// it: the region named in mesh.rootCaFrom holds the root(s); every region creates its intermediate
// key locally and publishes only a certificate request, which the root's stack signs on its next
// `pulumi up` (path length 0, a year of validity); the region picks the certificate up on its own next
// `up`. Until then the region reports `mesh:root-ca` / `mesh:intermediate-ca` pending and leaves its
// `cacerts` Secret as it is (empty on a new cluster: istiod then runs its own self-signed CA).
//
// Rotation (docs/runbook.md, "Mesh certificate authority"): roots and intermediate keys come in
// numbered generations. The root's stack keeps every root in mesh.rootCa.trusted in the trust bundle
// (root-cert.pem in every region) and signs with mesh.rootCa.signing; a region raises
// mesh.intermediateKey to get a new key, and keeps serving the old one until the new request is signed.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { createHash } from "node:crypto";
import type { PlatformConfig, Region } from "../../config";
import type { IntermediateRequest, IssuedIntermediate, MeshCaPublication, StackContext } from "../contracts";
import { partLabels } from "../labels";
import { NAMESPACES } from "../names";
import type { PeerRegions } from "../peers";

const CA_USES = ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"];
const HOUR = 1;
const DAY = 24 * HOUR;
/** Intermediates: a year at most, renewed by the root's stack on any `up` in their last 60 days. */
export const INTERMEDIATE_VALIDITY_HOURS = 365 * DAY;
export const INTERMEDIATE_RENEWAL_HOURS = 60 * DAY;
/** Roots from generation 2 on: five years, never renewed automatically (a root change is a procedure). */
export const ROOT_VALIDITY_HOURS = 5 * 365 * DAY;

/** What a region's stack does about the mesh CA, decided from config and the root's publication alone. */
export interface CaPlan {
    /** Root generations this stack holds (the root's stack only). */
    roots: number[];
    /** The root generation that signs intermediates (the root's stack only). */
    signingRoot?: number;
    /** Intermediate key generations to keep: the configured one, and the one in use until its successor is signed. */
    keys: number[];
    /** Key generation `cacerts` holds; undefined while no certificate was issued for this region. */
    activeKey?: number;
    pending: string[];
}

export function caPlan(cfg: PlatformConfig, ownerCa: MeshCaPublication | undefined): CaPlan {
    const wanted = cfg.mesh.intermediateKey;
    if (cfg.mesh.rootCaFrom === cfg.region) {
        const { trusted, signing } = cfg.mesh.rootCa;
        return { roots: [...trusted], signingRoot: signing, keys: [wanted], activeKey: wanted, pending: [] };
    }
    if (!ownerCa) return { roots: [], keys: [wanted], pending: ["mesh:root-ca"] };
    const issued = ownerCa.issued[cfg.region];
    if (issued?.generation === wanted) return { roots: [], keys: [wanted], activeKey: wanted, pending: [] };
    if (issued && issued.generation < wanted)
        return {
            roots: [],
            keys: [issued.generation, wanted],
            activeKey: issued.generation,
            pending: ["mesh:intermediate-ca"],
        };
    return { roots: [], keys: [wanted], pending: ["mesh:intermediate-ca"] };
}

/** Resource names per generation; generation 1 keeps the names the first version deployed. */
export const caNames = {
    rootKey: (name: string, g: number) => (g === 1 ? `${name}-root-ca-key` : `${name}-root-ca-key-g${g}`),
    root: (name: string, g: number) => (g === 1 ? `${name}-root-ca` : `${name}-root-ca-g${g}`),
    key: (name: string, g: number) => (g === 1 ? `${name}-intermediate-ca-key` : `${name}-intermediate-ca-key-g${g}`),
    request: (name: string, g: number) =>
        g === 1 ? `${name}-intermediate-ca-csr` : `${name}-intermediate-ca-csr-g${g}`,
    /** The root's stack signs its own request under the first version's name, a peer's under the peer's region. */
    issued: (name: string, region: Region, own: boolean) =>
        own ? `${name}-intermediate-ca` : `${name}-intermediate-ca-${region}`,
};

export interface MeshCa {
    /** The `cacerts` Secret istiod starts with (empty while pending on a new cluster). */
    secret: k8s.core.v1.Secret;
    /** A public fingerprint of what `cacerts` holds, so istiod restarts when it changes; "pending" otherwise. */
    fingerprint: pulumi.Output<string>;
    /** This region's request for the root's stack to sign. */
    request: pulumi.Output<IntermediateRequest>;
    /** From the root's stack: the trust bundle and every intermediate it signed. */
    publication?: pulumi.Output<MeshCaPublication>;
    pending: string[];
}

const fingerprint = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 16);

/** The mesh CA of this region (see the file comment). */
export function meshCa(
    name: string,
    ctx: StackContext,
    peers: PeerRegions,
    namespace: pulumi.Resource,
    parent: pulumi.Resource,
): MeshCa {
    const { cfg, provider } = ctx;
    const opts = { parent };
    const own = cfg.mesh.rootCaFrom === cfg.region;
    const owner = own ? undefined : peers.peers.find((p) => p.region === cfg.mesh.rootCaFrom);
    const ownerCa = owner?.published?.mesh?.ca;
    const plan = caPlan(cfg, ownerCa);
    const clusterName = cfg.cluster.identifier;

    // ---- This region's intermediate keys and requests (the keys never leave this stack).
    const keys = new Map<number, { key: tls.PrivateKey; request: tls.CertRequest }>();
    for (const g of plan.keys) {
        const key = new tls.PrivateKey(caNames.key(name, g), { algorithm: "RSA", rsaBits: 4096 }, opts);
        const request = new tls.CertRequest(
            caNames.request(name, g),
            {
                privateKeyPem: key.privateKeyPem,
                subject: {
                    commonName: `${cfg.mesh.meshId} intermediate CA ${clusterName}`,
                    organization: cfg.mesh.meshId,
                    organizationalUnit: clusterName,
                },
                dnsNames: [`istiod.${NAMESPACES.istio}.svc`],
            },
            opts,
        );
        keys.set(g, { key, request });
    }
    const wanted = keys.get(cfg.mesh.intermediateKey)!;
    const request = pulumi
        .output(wanted.request.certRequestPem)
        .apply((csrPem) => ({ generation: cfg.mesh.intermediateKey, csrPem }));

    // ---- The root's stack: roots, the trust bundle, and a signature on every region's request.
    let publication: pulumi.Output<MeshCaPublication> | undefined;
    let ownIssued: pulumi.Output<IssuedIntermediate> | undefined;
    if (own) {
        const roots = new Map<number, tls.SelfSignedCert>();
        const rootKeys = new Map<number, tls.PrivateKey>();
        for (const g of plan.roots) {
            const rootKey = new tls.PrivateKey(caNames.rootKey(name, g), { algorithm: "RSA", rsaBits: 4096 }, opts);
            rootKeys.set(g, rootKey);
            const subject = {
                commonName: g === 1 ? `${cfg.mesh.meshId} root CA` : `${cfg.mesh.meshId} root CA ${g}`,
                organization: cfg.mesh.meshId,
            };
            roots.set(
                g,
                new tls.SelfSignedCert(
                    caNames.root(name, g),
                    g === 1
                        ? // Generation 1 exactly as first deployed (any change would replace the live root).
                          {
                              privateKeyPem: rootKey.privateKeyPem,
                              subject,
                              isCaCertificate: true,
                              validityPeriodHours: 10 * 365 * DAY,
                              earlyRenewalHours: 365 * DAY,
                              allowedUses: CA_USES,
                          }
                        : {
                              privateKeyPem: rootKey.privateKeyPem,
                              subject,
                              isCaCertificate: true,
                              maxPathLength: 1,
                              validityPeriodHours: ROOT_VALIDITY_HOURS,
                              allowedUses: CA_USES,
                          },
                    opts,
                ),
            );
        }
        const signer = roots.get(plan.signingRoot!)!;
        const signerKey = rootKeys.get(plan.signingRoot!)!.privateKeyPem;
        const sign = (resourceName: string, csrPem: pulumi.Input<string>, g: number) => {
            const cert = new tls.LocallySignedCert(
                resourceName,
                {
                    certRequestPem: csrPem,
                    caCertPem: signer.certPem,
                    caPrivateKeyPem: signerKey,
                    isCaCertificate: true,
                    // Signs workload certificates only, never another CA.
                    maxPathLength: 0,
                    validityPeriodHours: INTERMEDIATE_VALIDITY_HOURS,
                    earlyRenewalHours: INTERMEDIATE_RENEWAL_HOURS,
                    allowedUses: CA_USES,
                },
                opts,
            );
            return pulumi.all([cert.certPem, signer.certPem]).apply(([certPem, rootPem]) => ({
                generation: g,
                rootGeneration: plan.signingRoot!,
                certPem,
                chainPem: `${certPem}${rootPem}`,
            }));
        };
        ownIssued = sign(
            caNames.issued(name, cfg.region, true),
            wanted.request.certRequestPem,
            cfg.mesh.intermediateKey,
        );
        const issued: Partial<Record<Region, pulumi.Output<IssuedIntermediate>>> = { [cfg.region]: ownIssued };
        for (const peer of peers.peers) {
            const req = peer.published?.mesh?.intermediateRequest;
            if (req) issued[peer.region] = sign(caNames.issued(name, peer.region, false), req.csrPem, req.generation);
        }
        const bundle = pulumi.all(plan.roots.map((g) => roots.get(g)!.certPem)).apply((pems) => pems.join(""));
        publication = pulumi.all([bundle, pulumi.all(issued)]).apply(([trustBundlePem, signed]) => ({
            trustBundlePem,
            trustedRoots: [...plan.roots],
            issued: signed,
        }));
    }

    // ---- cacerts: the active key with the certificate issued for it, or left as it is while pending.
    const issued: pulumi.Output<IssuedIntermediate> | undefined = own
        ? ownIssued
        : plan.activeKey !== undefined
          ? pulumi.output(ownerCa!.issued[cfg.region]!)
          : undefined;
    const bundle: pulumi.Output<string> | undefined = own
        ? publication!.apply((p) => p.trustBundlePem)
        : ownerCa
          ? pulumi.output(ownerCa.trustBundlePem)
          : undefined;
    const metadata = { name: "cacerts", namespace: NAMESPACES.istio, labels: partLabels("istio") };
    let secret: k8s.core.v1.Secret;
    let contentFingerprint: pulumi.Output<string>;
    if (issued && bundle && plan.activeKey !== undefined) {
        const active = keys.get(plan.activeKey)!;
        secret = new k8s.core.v1.Secret(
            `${name}-cacerts`,
            {
                metadata,
                type: "Opaque",
                stringData: {
                    "ca-cert.pem": issued.apply((i) => i.certPem),
                    "ca-key.pem": pulumi.secret(active.key.privateKeyPem),
                    "root-cert.pem": bundle,
                    "cert-chain.pem": issued.apply((i) => i.chainPem),
                },
            },
            { parent, provider, dependsOn: [namespace] },
        );
        contentFingerprint = pulumi
            .all([issued, bundle])
            .apply(([i, b]) => fingerprint(`${i.certPem}${i.chainPem}${b}`));
    } else {
        // Nothing issued for this region yet: a new cluster gets an empty Secret (istiod then uses its
        // self-signed CA; a Secret without ca-key.pem is not a plugged-in CA), and a running one keeps
        // the certificates it has (ignoreChanges) until the root's stack has signed the request.
        secret = new k8s.core.v1.Secret(
            `${name}-cacerts`,
            { metadata, type: "Opaque", stringData: {} },
            { parent, provider, dependsOn: [namespace], ignoreChanges: ["stringData", "data"] },
        );
        contentFingerprint = pulumi.output("pending");
    }

    return { secret, fingerprint: contentFingerprint, request, publication, pending: plan.pending };
}
