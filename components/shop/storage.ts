// Storage for the shop: a StorageClass for dynamically provisioned volumes (PostgreSQL data) and a
// static PersistentVolume, bound to exactly one claim, for the backups.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { input } from "@pulumi/kubernetes/types";

import { NAMES, PART_OF } from "./plan";
import { storageClassArgs } from "../storage";
import type { StackContext } from "../contracts";
import { appLabels, componentLabel } from "../labels";

export interface ShopStorageArgs {
    ctx: StackContext;
    /** The shop namespace (output of the namespace resource). */
    namespace: pulumi.Input<string>;
    /** The shop runs its own PostgreSQL (dev): it needs the backup volume for its daily dump. */
    ownDatabase: boolean;
}

/**
 * StorageClass `warung-kopi-standard` (the distribution's provisioner, WaitForFirstConsumer),
 * PersistentVolume `warung-kopi-backups` (local path or NFS, from config) and its only claim,
 * PersistentVolumeClaim `postgres-backups`. In production the volume and claim are protected:
 * removing them from the program (or `pulumi destroy`) stops instead of deleting backups, and the
 * StorageClass retains released volumes.
 */
export class ShopStorage extends pulumi.ComponentResource {
    public readonly storageClass: k8s.storage.v1.StorageClass;
    public readonly backupVolume?: k8s.core.v1.PersistentVolume;
    public readonly backupClaim?: k8s.core.v1.PersistentVolumeClaim;

    constructor(name: string, args: ShopStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:ShopStorage", name, {}, opts);
        const { cfg, provider } = args.ctx;
        const o = { parent: this, provider };
        const production = cfg.tier === "production";
        const keep = { protect: production, retainOnDelete: production };
        const labels = appLabels(PART_OF, PART_OF, "storage");

        this.storageClass = new k8s.storage.v1.StorageClass(
            `${name}-class`,
            storageClassArgs(cfg, NAMES.storageClass, labels),
            o,
        );

        if (!args.ownDatabase) {
            // The database's own layer backs it up (WAL archive and base backups in object storage).
            this.registerOutputs({});
            return;
        }
        const bv = cfg.shop.backupVolume;
        const source: Pick<input.core.v1.PersistentVolumeSpec, "local" | "nfs" | "nodeAffinity" | "mountOptions"> =
            bv.type === "local"
                ? {
                      local: { path: bv.path },
                      // A local volume must name its nodes; every Linux node has the path (single-node laptops).
                      nodeAffinity: {
                          required: {
                              nodeSelectorTerms: [
                                  {
                                      matchExpressions: [
                                          { key: "kubernetes.io/os", operator: "In", values: ["linux"] },
                                      ],
                                  },
                              ],
                          },
                      },
                  }
                : { nfs: { server: bv.server, path: bv.path }, mountOptions: ["hard", "nfsvers=4.1"] };

        this.backupVolume = new k8s.core.v1.PersistentVolume(
            `${name}-backup-volume`,
            {
                metadata: { name: NAMES.backupVolume, labels: { ...labels, ...componentLabel("backup") } },
                spec: {
                    capacity: { storage: cfg.shop.postgres.backupStorage },
                    accessModes: ["ReadWriteOnce"],
                    volumeMode: "Filesystem",
                    persistentVolumeReclaimPolicy: "Retain",
                    // No class and a claimRef: only the backup claim can bind this volume.
                    storageClassName: "",
                    claimRef: {
                        apiVersion: "v1",
                        kind: "PersistentVolumeClaim",
                        namespace: cfg.shop.namespace,
                        name: NAMES.backupClaim,
                    },
                    ...source,
                },
            },
            { ...o, ...keep },
        );

        this.backupClaim = new k8s.core.v1.PersistentVolumeClaim(
            `${name}-backup-claim`,
            {
                metadata: {
                    name: NAMES.backupClaim,
                    namespace: args.namespace,
                    labels: { ...labels, ...componentLabel("backup") },
                },
                spec: {
                    accessModes: ["ReadWriteOnce"],
                    storageClassName: "",
                    volumeName: NAMES.backupVolume,
                    resources: { requests: { storage: cfg.shop.postgres.backupStorage } },
                },
            },
            { ...o, ...keep, dependsOn: [this.backupVolume] },
        );

        this.registerOutputs({});
    }
}
