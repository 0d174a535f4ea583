// Multi-primary across regions on different networks: one mesh ID, a network per region, the CA of
// ./ca.ts, an east-west gateway open to the peers only, and a remote secret per peer cluster so each
// istiod discovers the peers' endpoints.
//
// Peers read this cluster as the service account istio-remote-reader, through a short-lived token the
// deploy pipeline mints (`kubectl create token --duration`, config meshReaderToken) and a ClusterRole
// holding only what remote service discovery reads (remoteReaderRules, reasoning in docs/security.md).
// The charts' own reader account and its Secret-reading ClusterRole are switched off
// (global.enableReaderRBAC: false), and no non-expiring token Secret exists.
import * as k8s from "@pulumi/kubernetes";
import type { input } from "@pulumi/kubernetes/types";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { MESH_READER, meshReaderToken, type PlatformConfig } from "../../config";
import type { PublishedForPeers, StackContext } from "../contracts";
import { partLabels, selectorLabels } from "../labels";
import { CROSS_NETWORK_PORT, EAST_WEST_GATEWAY, NAMESPACES } from "../names";
import { peerEgressCidrs, peerGatewayAuthorization, type PeerRegions } from "../peers";
import type { MeshCa } from "./ca";

type PolicyRule = input.rbac.v1.PolicyRule;
const READ = ["get", "list", "watch"];

/**
 * What a peer's istiod reads in this cluster for multi-primary service discovery (Istio 1.30): the
 * informers its remote-cluster registry opens. No Secrets, no ConfigMaps cluster-wide, no Istio
 * configuration (each primary reads its own), no token or access reviews (those serve proxies
 * connected to that istiod, which in multi-primary are all local to it), nothing it could write.
 */
export function remoteReaderRules(): PolicyRule[] {
    return [
        // Services, their endpoints and the pods/nodes behind them (locality, network of each endpoint).
        { apiGroups: [""], resources: ["namespaces", "services", "pods", "nodes"], verbs: READ },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: READ },
        // WorkloadEntries of the remote cluster (cross-cluster WorkloadEntry selection is on by default).
        { apiGroups: ["networking.istio.io"], resources: ["workloadentries"], verbs: READ },
        // Network gateways declared with the Gateway API, and the CRDs that tell istiod which optional APIs exist.
        { apiGroups: ["gateway.networking.k8s.io"], resources: ["gateways"], verbs: READ },
        { apiGroups: ["apiextensions.k8s.io"], resources: ["customresourcedefinitions"], verbs: READ },
        { apiGroups: ["multicluster.x-k8s.io"], resources: ["serviceexports", "serviceimports"], verbs: READ },
    ];
}

/** In istio-system only: the remote cluster's mesh config (ConfigMap `istio`), read by name. */
export function remoteReaderNamespaceRules(): PolicyRule[] {
    return [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["istio"], verbs: READ }];
}

/**
 * The reader account, its ClusterRole and Role, and (when the pipeline minted a token) the kubeconfig
 * the peers turn into remote secrets, as a Pulumi secret.
 */
export function readerAccess(
    name: string,
    ctx: StackContext,
    namespace: pulumi.Resource,
    parent: pulumi.Resource,
): pulumi.Output<string> | undefined {
    const { cfg, provider } = ctx;
    const o = { parent, provider };
    const labels = partLabels("istio", selectorLabels(MESH_READER.serviceAccount));
    const account = { kind: "ServiceAccount", name: MESH_READER.serviceAccount, namespace: MESH_READER.namespace };
    const sa = new k8s.core.v1.ServiceAccount(
        `${name}-remote-reader`,
        {
            metadata: { name: MESH_READER.serviceAccount, namespace: MESH_READER.namespace, labels },
            // Nothing runs as this account: its only use is the tokens the pipeline requests for the peers.
            automountServiceAccountToken: false,
        },
        { ...o, dependsOn: [namespace] },
    );
    const role = new k8s.rbac.v1.ClusterRole(
        `${name}-remote-reader`,
        { metadata: { name: MESH_READER.serviceAccount, labels }, rules: remoteReaderRules() },
        o,
    );
    new k8s.rbac.v1.ClusterRoleBinding(
        `${name}-remote-reader`,
        {
            metadata: { name: MESH_READER.serviceAccount, labels },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name },
            subjects: [account],
        },
        { ...o, dependsOn: [sa] },
    );
    const nsRole = new k8s.rbac.v1.Role(
        `${name}-remote-reader`,
        {
            metadata: { name: MESH_READER.serviceAccount, namespace: MESH_READER.namespace, labels },
            rules: remoteReaderNamespaceRules(),
        },
        { ...o, dependsOn: [namespace] },
    );
    new k8s.rbac.v1.RoleBinding(
        `${name}-remote-reader`,
        {
            metadata: { name: MESH_READER.serviceAccount, namespace: MESH_READER.namespace, labels },
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: nsRole.metadata.name },
            subjects: [account],
        },
        { ...o, dependsOn: [sa] },
    );

    const token = meshReaderToken();
    if (!token) return undefined;
    // The cluster CA the peers verify the API server with: every namespace has it (kube-root-ca.crt).
    const clusterCa = k8s.core.v1.ConfigMap.get(`${name}-cluster-ca`, `${NAMESPACES.kubeSystem}/kube-root-ca.crt`, o);
    return pulumi.secret(
        pulumi
            .all([token, clusterCa.data])
            .apply(([t, data]) => readerKubeconfig(cfg, t, Buffer.from(data?.["ca.crt"] ?? "").toString("base64"))),
    );
}

/** A kubeconfig for the reader account (pure). */
export function readerKubeconfig(cfg: PlatformConfig, token: string, caBase64: string): string {
    const clusterName = cfg.cluster.identifier;
    return stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
            {
                name: clusterName,
                cluster: { server: cfg.cluster.apiServer, "certificate-authority-data": caBase64 },
            },
        ],
        users: [{ name: clusterName, user: { token } }],
        contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
        "current-context": clusterName,
    });
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
                    namespace: NAMESPACES.istio,
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

/**
 * Where the east-west gateway accepts connections from: the ranges the peers publish as their pods'
 * egress addresses, and any extra ranges in config. Empty until a peer has published.
 */
export function eastWestSources(cfg: PlatformConfig, peers: PeerRegions): string[] {
    return [...new Set([...cfg.mesh.eastWestSourceRanges, ...peerEgressCidrs(peers.peers)])].sort();
}

/** The east-west gateway's authorization: the cross-network port, from the peers' ranges only. */
export const eastWestAuthorization = (sources: string[]) =>
    peerGatewayAuthorization(EAST_WEST_GATEWAY.podLabels, CROSS_NETWORK_PORT, sources);

/** What this region publishes for its peers' meshes: public data and the reader kubeconfig (secret). */
export function meshPublication(
    ctx: StackContext,
    kubeconfig: pulumi.Output<string> | undefined,
    ca: MeshCa,
): pulumi.Output<NonNullable<PublishedForPeers["mesh"]>> {
    const { cfg } = ctx;
    return pulumi.output({
        clusterName: cfg.cluster.identifier,
        network: cfg.mesh.network,
        egressCidrs: [...cfg.cluster.egressCidrs],
        intermediateRequest: ca.request,
        ...(kubeconfig ? { readerKubeconfig: kubeconfig } : {}),
        ...(ca.publication ? { ca: ca.publication } : {}),
    });
}
