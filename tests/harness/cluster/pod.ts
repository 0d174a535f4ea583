// A pod as the cluster model sees it: what runs it, its identity, its proxy and its ports.
import type { ChartPolicy } from "./network";

export interface Pod {
    /** "Deployment warung-kopi/backend", or "chart istio-ingress/istio-ingressgateway". */
    id: string;
    /** Kind and name of what runs it. */
    owner: { kind: string; name: string };
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    serviceAccount: string;
    /** An Istio proxy in the pod: an injected sidecar, or the pod is a gateway. */
    proxy?: "sidecar" | "gateway";
    /** The pod template spec (undefined for chart pods). */
    spec?: any;
    ports: { name?: string; containerPort: number; protocol?: string }[];
    hostNetwork: boolean;
    chartPolicy?: ChartPolicy;
}
