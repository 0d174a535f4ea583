// What the program relies on about each Kubernetes distribution it supports, in one typed table.
// Components derive their choices from the resolved profile (cfg.cluster.profile); a stack file
// overrides any fact under cluster.profile (e.g. an EKS Auto Mode cluster's provisioner, a custom
// pod range). Prerequisites a user must set up, and the commands that check them: docs/distributions.md.
import { z } from "zod";
import { bool, cidr, type Distribution, labelMap } from "./fields";

export const profileSchema = z.strictObject({
    storage: z.strictObject({
        /** CSI provisioner of the StorageClass the program creates for every persistent volume. */
        provisioner: z.string().min(1, "expected a CSI provisioner name such as ebs.csi.aws.com"),
        /** StorageClass parameters for that provisioner (e.g. {type: gp3}). */
        parameters: z.record(z.string(), z.string()),
        allowVolumeExpansion: bool,
        /** Whether the cluster marks a StorageClass as default out of the box (a claim without a class binds). */
        defaultClassProvided: bool,
        /** Name of that default StorageClass (docs/distributions.md; a claim may name it where it exists). */
        defaultClass: z.string().min(1).optional(),
        /** Volumes are node-local (hostPath provisioners): data does not follow a pod to another node. */
        nodeLocal: bool,
    }),
    network: z.strictObject({
        /** Pod address ranges (NetworkPolicy ipBlocks must exclude them). */
        podCidrs: z.array(cidr).min(1, "expected the cluster's pod range(s), e.g. [10.244.0.0/16]"),
        /** Service (ClusterIP) ranges. */
        serviceCidrs: z.array(cidr).min(1, "expected the cluster's service range(s), e.g. [10.96.0.0/12]"),
    }),
    /** Node label holding the availability zone. */
    zoneLabel: z.string().min(1),
    /** Annotations that make a LoadBalancer Service internal (private network only). */
    internalLoadBalancerAnnotations: labelMap,
    /**
     * Annotations for a public layer-4 LoadBalancer Service that hands the client's address to the nodes
     * (with externalTrafficPolicy Local), so endpoints open to named peers only can check it.
     */
    addressPreservingLoadBalancerAnnotations: labelMap,
    /** What answers LoadBalancer Services: a cloud load balancer, a local implementation, or nothing. */
    loadBalancer: z.enum(["cloud", "local", "none"], { message: "expected cloud, local or none" }),
    /** Which component gives LoadBalancer Services their address (how a user reaches them). */
    loadBalancerProvider: z.string().min(1),
    /** The cluster runs a metrics API (metrics.k8s.io) of its own. */
    metricsServerProvided: bool,
    dns: z.strictObject({
        /** Labels of the cluster DNS pods in kube-system. */
        podLabels: labelMap,
        /** NodeLocal DNSCache address, where the cluster runs it (pods resolve through it). */
        nodeLocalCache: z.string().optional(),
    }),
    /** Kubelets serve certificates no cluster CA signed (laptops): metrics-server must skip verification. */
    selfSignedKubeletCerts: bool,
    /** The cloud's instance metadata endpoint, reachable from pods unless a NetworkPolicy blocks it. */
    metadataEndpoint: z.string().optional(),
});
export type ClusterProfile = z.infer<typeof profileSchema>;

/** Everything but the facts: `cluster.profile` in a stack file sets only what differs. */
export const profileOverrides = z.strictObject({
    storage: profileSchema.shape.storage.partial().optional(),
    network: profileSchema.shape.network.partial().optional(),
    zoneLabel: profileSchema.shape.zoneLabel.optional(),
    internalLoadBalancerAnnotations: labelMap.optional(),
    addressPreservingLoadBalancerAnnotations: labelMap.optional(),
    loadBalancer: profileSchema.shape.loadBalancer.optional(),
    loadBalancerProvider: profileSchema.shape.loadBalancerProvider.optional(),
    metricsServerProvided: bool.optional(),
    dns: profileSchema.shape.dns.partial().optional(),
    selfSignedKubeletCerts: bool.optional(),
    metadataEndpoint: z.string().optional(),
});
export type ProfileOverrides = z.infer<typeof profileOverrides>;

const ZONE = "topology.kubernetes.io/zone";
const KUBE_DNS = { "k8s-app": "kube-dns" };
const CLOUD_METADATA = "169.254.169.254";

const laptop = (
    storage: Pick<ClusterProfile["storage"], "provisioner" | "defaultClass">,
    network: ClusterProfile["network"],
    more: Partial<ClusterProfile>,
): ClusterProfile => ({
    storage: { ...storage, parameters: {}, allowVolumeExpansion: false, defaultClassProvided: true, nodeLocal: true },
    network,
    zoneLabel: ZONE,
    internalLoadBalancerAnnotations: {},
    addressPreservingLoadBalancerAnnotations: {},
    loadBalancer: "none",
    loadBalancerProvider: "nothing (kind has no LoadBalancer implementation; reach Services through NodePorts)",
    metricsServerProvided: false,
    dns: { podLabels: KUBE_DNS },
    selfSignedKubeletCerts: true,
    ...more,
});

/** Stock clusters of each distribution, as their documentation describes them. */
export const PROFILES: Record<Distribution, ClusterProfile> = {
    // kind: local-path provisioner (class `standard`), no LoadBalancer implementation.
    kind: laptop(
        { provisioner: "rancher.io/local-path", defaultClass: "standard" },
        { podCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/16"] },
        {},
    ),
    // k3d (k3s): local-path (class `local-path`), servicelb answers LoadBalancers, metrics-server bundled.
    k3d: laptop(
        { provisioner: "rancher.io/local-path", defaultClass: "local-path" },
        { podCidrs: ["10.42.0.0/16"], serviceCidrs: ["10.43.0.0/16"] },
        {
            loadBalancer: "local",
            loadBalancerProvider: "k3s servicelb (klipper-lb) on the node addresses",
            metricsServerProvided: true,
        },
    ),
    // minikube: hostpath provisioner (class `standard`); `minikube tunnel` answers LoadBalancers.
    minikube: laptop(
        { provisioner: "k8s.io/minikube-hostpath", defaultClass: "standard" },
        { podCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.96.0.0/12"] },
        {
            loadBalancer: "local",
            loadBalancerProvider: "`minikube tunnel`, while it runs",
        },
    ),
    // Docker Desktop: hostpath provisioner (class `hostpath`); LoadBalancers on localhost.
    "docker-desktop": laptop(
        { provisioner: "docker.io/hostpath", defaultClass: "hostpath" },
        { podCidrs: ["10.1.0.0/16"], serviceCidrs: ["10.96.0.0/12"] },
        {
            loadBalancer: "local",
            loadBalancerProvider: "Docker Desktop, on localhost",
        },
    ),
    // EKS: the EBS CSI driver is an add-on (not installed by default) and clusters created at 1.30 or
    // later have no default StorageClass; pods take VPC addresses (VPC CNI), eksctl's default VPC is
    // 192.168.0.0/16; services from 10.100.0.0/16 or 172.20.0.0/16. Internal NLBs need subnets
    // tagged kubernetes.io/role/internal-elb.
    eks: {
        storage: {
            provisioner: "ebs.csi.aws.com",
            parameters: { type: "gp3", encrypted: "true" },
            allowVolumeExpansion: true,
            defaultClassProvided: false,
            nodeLocal: false,
        },
        network: { podCidrs: ["192.168.0.0/16"], serviceCidrs: ["10.100.0.0/16", "172.20.0.0/16"] },
        zoneLabel: ZONE,
        internalLoadBalancerAnnotations: {
            // The in-tree AWS cloud provider reads the first; the AWS Load Balancer Controller (and EKS
            // Auto Mode) the second: whichever owns the Service builds an internal load balancer.
            "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
        },
        // The in-tree default is a Classic ELB, a TCP proxy that hides client addresses; a Network Load
        // Balancer (instance targets) keeps them, and enforces loadBalancerSourceRanges on the nodes.
        addressPreservingLoadBalancerAnnotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" },
        loadBalancer: "cloud",
        loadBalancerProvider: "the AWS Load Balancer Controller (or EKS Auto Mode), else the in-tree cloud provider",
        metricsServerProvided: false,
        dns: { podLabels: KUBE_DNS },
        selfSignedKubeletCerts: false,
        metadataEndpoint: CLOUD_METADATA,
    },
    // GKE: PD CSI driver with default class `standard-rwo`; VPC-native pod ranges (secondary range,
    // commonly 10.x/14); services from 34.118.224.0/20 on current clusters; NodeLocal DNSCache optional.
    gke: {
        storage: {
            provisioner: "pd.csi.storage.gke.io",
            parameters: { type: "pd-balanced" },
            allowVolumeExpansion: true,
            defaultClassProvided: true,
            defaultClass: "standard-rwo",
            nodeLocal: false,
        },
        network: { podCidrs: ["10.4.0.0/14"], serviceCidrs: ["34.118.224.0/20"] },
        zoneLabel: ZONE,
        internalLoadBalancerAnnotations: { "networking.gke.io/load-balancer-type": "Internal" },
        // External passthrough Network Load Balancer: client addresses reach the nodes as they are.
        addressPreservingLoadBalancerAnnotations: {},
        loadBalancer: "cloud",
        loadBalancerProvider: "GKE's cloud controller (Google Cloud load balancers)",
        metricsServerProvided: true,
        dns: { podLabels: KUBE_DNS },
        selfSignedKubeletCerts: false,
        metadataEndpoint: CLOUD_METADATA,
    },
    // AKS: Azure Disk CSI with default class `managed-csi`; overlay pods 10.244.0.0/16, services 10.0.0.0/16.
    aks: {
        storage: {
            provisioner: "disk.csi.azure.com",
            parameters: { skuName: "StandardSSD_LRS" },
            allowVolumeExpansion: true,
            defaultClassProvided: true,
            defaultClass: "managed-csi",
            nodeLocal: false,
        },
        network: { podCidrs: ["10.244.0.0/16"], serviceCidrs: ["10.0.0.0/16"] },
        zoneLabel: ZONE,
        internalLoadBalancerAnnotations: { "service.beta.kubernetes.io/azure-load-balancer-internal": "true" },
        // Azure Standard Load Balancer: client addresses reach the nodes as they are.
        addressPreservingLoadBalancerAnnotations: {},
        loadBalancer: "cloud",
        loadBalancerProvider: "AKS's cloud controller (Azure Load Balancer)",
        metricsServerProvided: true,
        dns: { podLabels: KUBE_DNS },
        selfSignedKubeletCerts: false,
        metadataEndpoint: CLOUD_METADATA,
    },
};

/** A distribution's stock profile with a stack's overrides applied (objects key by key, lists replace). */
export function resolveProfile(distribution: Distribution, o: ProfileOverrides = {}): ClusterProfile {
    const base = PROFILES[distribution];
    return {
        ...base,
        ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && typeof v !== "object")),
        storage: { ...base.storage, ...o.storage },
        network: { ...base.network, ...o.network },
        internalLoadBalancerAnnotations: o.internalLoadBalancerAnnotations ?? base.internalLoadBalancerAnnotations,
        addressPreservingLoadBalancerAnnotations:
            o.addressPreservingLoadBalancerAnnotations ?? base.addressPreservingLoadBalancerAnnotations,
        dns: { ...base.dns, ...o.dns },
    };
}
