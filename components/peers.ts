import * as pulumi from "@pulumi/pulumi";
import type { Region } from "../config";
import type { PublishedForPeers, StackContext } from "./contracts";

export type { PublishedForPeers };

export interface PeerRegion {
    region: Region;
    stack: string;
    /** Undefined while the peer stack is not deployed (or predates publishing). */
    published?: PublishedForPeers;
}

/**
 * The public ranges the peers' pods leave through, as each published its cluster.egressCidrs (with its
 * mesh, and for Redis Enterprise as the ranges it connects from): what the gateways facing the peers
 * admit. Peers not deployed yet publish none.
 */
export function peerEgressCidrs(peers: readonly PeerRegion[]): string[] {
    const ranges = peers.flatMap((p) => [
        ...(p.published?.mesh?.egressCidrs ?? []),
        ...(p.published?.redis?.sourceRanges ?? []),
    ]);
    return [...new Set(ranges)].sort();
}

/**
 * The peer regions named in config, read through stack references. A peer that is not deployed yet
 * is reported as pending; everything regional still deploys, and the next `pulumi up` links it.
 */
/**
 * The AuthorizationPolicy spec of a gateway that serves the peer regions: ALLOW connections to `port`
 * from `sources` only (the gateway sees the client's address: externalTrafficPolicy Local). With no
 * source known it has no rule, which admits nothing.
 */
export function peerGatewayAuthorization(
    podLabels: Record<string, string>,
    port: number,
    sources: readonly string[],
): Record<string, unknown> {
    return {
        selector: { matchLabels: { ...podLabels } },
        action: "ALLOW",
        ...(sources.length > 0
            ? {
                  rules: [
                      {
                          from: [{ source: { ipBlocks: [...sources] } }],
                          to: [{ operation: { ports: [String(port)] } }],
                      },
                  ],
              }
            : {}),
    };
}

export class PeerRegions extends pulumi.ComponentResource {
    public readonly peers: PeerRegion[] = [];

    private constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("ecommerce:platform:PeerRegions", name, {}, opts);
    }

    static async read(name: string, ctx: StackContext, opts?: pulumi.ComponentResourceOptions): Promise<PeerRegions> {
        const self = new PeerRegions(name, opts);
        for (const [region, stack] of Object.entries(ctx.cfg.peers)) {
            const ref = new pulumi.StackReference(`${name}-${region}`, { name: stack }, { parent: self });
            const details = await ref.getOutputDetails("publishedForPeers");
            const published = (details.value ?? details.secretValue) as PublishedForPeers | undefined;
            self.peers.push({ region, stack, published });
        }
        self.registerOutputs({});
        return self;
    }

    /** Peers that published a section (e.g. "redis"), and the names of those that have not yet. */
    split<K extends keyof PublishedForPeers>(
        section: K,
    ): { ready: (PeerRegion & { published: PublishedForPeers })[]; pending: string[] } {
        const ready = this.peers.filter(
            (p): p is PeerRegion & { published: PublishedForPeers } => !!p.published?.[section],
        );
        const pending = this.peers.filter((p) => !p.published?.[section]).map((p) => `${String(section)}:${p.region}`);
        return { ready, pending };
    }
}
