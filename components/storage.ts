// Storage that binds: every persistent volume the program asks for names a StorageClass the program
// creates, with the provisioner the cluster's profile names (config/profiles.ts). A claim without a
// class relies on a default StorageClass, which some clusters (EKS since 1.30) do not have.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import type { StackContext, StorageContract } from "./contracts";
import { componentLabel, partLabels } from "./labels";

/** The StorageClass the platform's volumes use (the shop's seed keeps a class of its own). */
export const PLATFORM_STORAGE_CLASS = "platform-standard";

/** A StorageClass for the cluster's provisioner: provisioned where the pod lands, kept in production. */
export function storageClassArgs(
    cfg: PlatformConfig,
    name: string,
    labels: Record<string, string>,
): k8s.storage.v1.StorageClassArgs {
    const s = cfg.cluster.profile.storage;
    const production = cfg.tier === "production";
    return {
        metadata: { name, labels },
        provisioner: s.provisioner,
        parameters: Object.keys(s.parameters).length > 0 ? { ...s.parameters } : undefined,
        // Production keeps a released volume (and its data) until an operator deletes it.
        reclaimPolicy: production ? "Retain" : "Delete",
        // Provision where the pod lands (zone-aware on clouds; the only option for node-local paths).
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: s.allowVolumeExpansion,
    };
}

/** The platform's StorageClass, offered to the layers with volumes (monitoring, Redis Enterprise, ...). */
export class ClusterStorage extends pulumi.ComponentResource implements StorageContract {
    public readonly className = PLATFORM_STORAGE_CLASS;
    public readonly storageClass: k8s.storage.v1.StorageClass;

    constructor(name: string, args: { ctx: StackContext }, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:ClusterStorage", name, {}, opts);
        const { cfg, provider } = args.ctx;
        this.storageClass = new k8s.storage.v1.StorageClass(
            `${name}-class`,
            storageClassArgs(cfg, PLATFORM_STORAGE_CLASS, partLabels("platform", componentLabel("storage"))),
            { parent: this, provider },
        );
        this.registerOutputs({ className: this.className });
    }
}
