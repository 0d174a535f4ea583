// The regions' trace store: OpenSearch (the project's chart, pinned) in namespace `tracing`, three
// nodes one per zone, TLS between nodes and to clients with a CA of this stack, a login for Jaeger
// (generated, held as a Pulumi secret, handed over by Secret name), a quota, and default-deny with
// the flows it needs: node to node, Jaeger (and its index cleaner) to the HTTPS API.
//
// Pod Security "restricted" holds for every pod: the chart's root init containers (volume chown,
// sysctl) are off, fsGroup gives the volume to the image's user, and mmap is off instead of raising
// vm.max_map_count. The one thing left as the chart ships it is a writable root filesystem
// (OpenSearch writes under its home directory); "restricted" does not ask for a read-only one.
//
// Certificates: the CA (ten years) and the node and admin certificates (two years, renewed by any
// `pulumi up` in their last 60 days) are made here; a renewal changes the pods' checksum annotation,
// so the nodes restart one at a time with the new certificate under the same CA.
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { StackContext, StorageContract } from "../contracts";
import { CHARTS, chartValues, pinnedRelease } from "../helm";
import { componentLabel, partLabels } from "../labels";
import { CONTAINER_DEFAULTS, HardenedNamespace } from "../namespace";
import { namespacePeer, networkPolicy, podPeer, tcp } from "../network";
import { JAEGER, openSearchValues, SECURITY_FILES, securityConfigFiles, TRACE_STORE, traceStoreQuota } from "./tracing";

export interface TraceStoreArgs {
    ctx: StackContext;
    storage: StorageContract;
    /** Jaeger's namespace (monitoring): it receives the CA and the login, and its pods are the clients. */
    clientNamespace: string;
    /** The client namespace itself, created elsewhere in the layer: its Secrets wait for it. */
    clientNamespaceReady: pulumi.Resource;
}

const DAY_HOURS = 24;
const LEAF_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];

export class TraceStore extends pulumi.ComponentResource {
    /** What Jaeger waits for: the release (nodes up) and the Secrets it mounts. */
    public readonly ready: pulumi.Resource[];

    constructor(name: string, args: TraceStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:TraceStore", name, {}, opts);
        const { ctx } = args;
        const { cfg, provider } = ctx;
        const o = { parent: this, provider };
        const labels = partLabels("monitoring", componentLabel("trace-store"));
        const ns = TRACE_STORE.namespace;

        const namespace = new HardenedNamespace(
            `${name}-namespace`,
            {
                ctx,
                name: ns,
                podSecurity: "restricted",
                labels,
                quota: traceStoreQuota(cfg),
                containerDefaults: CONTAINER_DEFAULTS,
            },
            { parent: this },
        );
        const inNs = { ...o, dependsOn: [namespace.namespace] };

        // Node to node (transport), and the HTTPS API for Jaeger and its index cleaner; nothing else.
        const nodes = podPeer(TRACE_STORE.podLabels);
        const allows = [
            networkPolicy(
                `${name}-allow-transport`,
                {
                    namespace: ns,
                    name: "allow-node-transport",
                    podSelector: { ...TRACE_STORE.podLabels },
                    ingress: [{ from: [nodes], ports: tcp(TRACE_STORE.ports.transport) }],
                    egress: [{ to: [nodes], ports: tcp(TRACE_STORE.ports.transport) }],
                },
                inNs,
            ),
            networkPolicy(
                `${name}-allow-jaeger`,
                {
                    namespace: ns,
                    name: "allow-http-from-jaeger",
                    podSelector: { ...TRACE_STORE.podLabels },
                    ingress: [
                        {
                            from: [namespacePeer(args.clientNamespace, JAEGER.podLabels)],
                            ports: tcp(TRACE_STORE.ports.http),
                        },
                    ],
                },
                inNs,
            ),
        ];

        // ---- Certificates: a CA of this stack, the nodes' certificate (every name a client or node uses), the admin's.
        const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "RSA", rsaBits: 3072 }, { parent: this });
        const ca = new tls.SelfSignedCert(
            `${name}-ca`,
            {
                privateKeyPem: caKey.privateKeyPem,
                subject: { ...TRACE_STORE.subjects.ca },
                isCaCertificate: true,
                // Not renewed in place: nodes under a new CA would not trust the others mid-rollout (runbook).
                validityPeriodHours: 10 * 365 * DAY_HOURS,
                allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
            },
            { parent: this },
        );
        const leaf = (id: string, subject: { commonName: string; organization: string }, dnsNames: string[]) => {
            const key = new tls.PrivateKey(`${name}-${id}-key`, { algorithm: "RSA", rsaBits: 2048 }, { parent: this });
            const csr = new tls.CertRequest(
                `${name}-${id}-csr`,
                { privateKeyPem: key.privateKeyPem, subject: { ...subject }, dnsNames },
                { parent: this },
            );
            const cert = new tls.LocallySignedCert(
                `${name}-${id}-cert`,
                {
                    certRequestPem: csr.certRequestPem,
                    caCertPem: ca.certPem,
                    caPrivateKeyPem: caKey.privateKeyPem,
                    validityPeriodHours: 2 * 365 * DAY_HOURS,
                    earlyRenewalHours: 60 * DAY_HOURS,
                    allowedUses: LEAF_USES,
                },
                { parent: this },
            );
            const secretName = id === "node" ? TRACE_STORE.secrets.nodeTls : TRACE_STORE.secrets.adminTls;
            new k8s.core.v1.Secret(
                `${name}-${id}-tls`,
                {
                    metadata: { name: secretName, namespace: ns, labels },
                    type: "kubernetes.io/tls",
                    // The security plugin reads PKCS #8 keys.
                    stringData: { "tls.crt": cert.certPem, "tls.key": key.privateKeyPemPkcs8, "ca.crt": ca.certPem },
                },
                inNs,
            );
            return cert;
        };
        const service = TRACE_STORE.service;
        const headless = `${service}-headless`;
        const nodeCert = leaf("node", TRACE_STORE.subjects.node, [
            "localhost",
            service,
            `${service}.${ns}`,
            `${service}.${ns}.svc`,
            `${service}.${ns}.svc.cluster.local`,
            `*.${headless}.${ns}.svc`,
            `*.${headless}.${ns}.svc.cluster.local`,
        ]);
        const adminCert = leaf("admin", TRACE_STORE.subjects.admin, []);

        // ---- Jaeger's login: generated; the store keeps its bcrypt hash, Jaeger the password (both Secrets).
        const password = new random.RandomPassword(
            `${name}-jaeger-password`,
            { length: 32, special: false },
            { parent: this },
        );
        const files = pulumi.secret(password.bcryptHash).apply((hash) => securityConfigFiles(hash));
        const securitySecret = new k8s.core.v1.Secret(
            `${name}-security-config`,
            {
                metadata: { name: TRACE_STORE.secrets.security, namespace: ns, labels },
                type: "Opaque",
                stringData: Object.fromEntries(
                    Object.entries(SECURITY_FILES).map(([id, file]) => [
                        file,
                        files.apply((f) => f[id as keyof typeof SECURITY_FILES]),
                    ]),
                ),
            },
            inNs,
        );

        // A change of a certificate or of the security files restarts the nodes, one at a time.
        const checksum = pulumi.unsecret(
            pulumi
                .all([ca.certPem, nodeCert.certPem, adminCert.certPem, files])
                .apply(([a, b, c, f]) =>
                    createHash("sha256")
                        .update([a, b, c, f.config, f.internalUsers, f.roles, f.rolesMapping].join("\n"))
                        .digest("hex"),
                ),
        );
        const release = pinnedRelease(
            `${name}-opensearch`,
            {
                ctx,
                chart: CHARTS.opensearch,
                releaseName: TRACE_STORE.release,
                namespace: ns,
                values: checksum.apply((c) =>
                    chartValues("opensearch.yaml", openSearchValues(cfg, args.storage.className, c)),
                ),
                timeoutSeconds: 900,
            },
            {
                parent: this,
                dependsOn: [namespace, ...allows, securitySecret],
                customTimeouts: { create: "20m", update: "20m" },
            },
        );

        // ---- What Jaeger mounts, in its own namespace: the CA to verify the store, its login.
        const inClientNs = { ...o, dependsOn: [args.clientNamespaceReady] };
        const caSecret = new k8s.core.v1.Secret(
            `${name}-jaeger-ca`,
            {
                metadata: { name: JAEGER.secrets.ca, namespace: args.clientNamespace, labels },
                type: "Opaque",
                stringData: { "ca.crt": ca.certPem },
            },
            inClientNs,
        );
        const login = new k8s.core.v1.Secret(
            `${name}-jaeger-credentials`,
            {
                metadata: { name: JAEGER.secrets.credentials, namespace: args.clientNamespace, labels },
                type: "kubernetes.io/basic-auth",
                stringData: { username: TRACE_STORE.jaegerUser, password: password.result },
            },
            inClientNs,
        );

        this.ready = [release, caSecret, login];
        this.registerOutputs({ namespace: ns });
    }
}
