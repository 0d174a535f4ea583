// One hop of a journey through the cluster model: a caller sends a request to a Service (or to the
// ingress gateway's public host, or to an address outside the cluster), and the model follows it
// as the cluster would: the Service's endpoints and target port, the caller's sidecar (routing by
// Host, mTLS or plain text), NetworkPolicy at both ends, the destination's sidecar (PeerAuthentication,
// RequestAuthentication, AuthorizationPolicy), and whether the container serves the port.
import { chartPod } from "./charts";
import {
    authenticate,
    authorize,
    clusterLocal,
    eastWestPassthrough,
    failsOver,
    fqdn,
    gatewayRoute,
    inboundMode,
    portProtocol,
    PROXY_OWN_PORTS,
    routeByHost,
    sendsMtls,
    type Token,
} from "./mesh";
import { type Endpoint, inCidr, NetworkModel } from "./network";
import { type ClusterView, endpointOf, type Pod, podsOf, targetPortOn } from "./view";

/** Who sends the request. */
export type Caller =
    /** A pod of this cluster (through its sidecar, if it has one). */
    | { pod: Pod }
    /** A client outside the cluster, through the Service's load balancer or a node port. */
    | { address: string; via: "load-balancer" | "node-port" }
    /** `kubectl port-forward svc/...`: into one pod, on its loopback (no NetworkPolicy, no sidecar inbound). */
    | { portForward: true }
    /** A workload of another region of the mesh, through this cluster's east-west gateway. */
    | { peerRegion: { namespace: string; serviceAccount: string } }
    /** Anyone on the internet, through the ingress gateway's public host. */
    | { internet: true };

export interface HttpRequest {
    /** Host/authority header; default: the Service's cluster name and port. */
    host?: string;
    path: string;
    method?: string;
    token?: Token;
    /** Internet callers: the request arrives over HTTPS. */
    https?: boolean;
}

export interface Hop {
    from: Caller;
    /**
     * The Service and Service port addressed, or a pod's address and container port (a PodMonitor's
     * target); internet callers address a host instead.
     */
    to?: { namespace: string; service: string; port: number } | { pod: Pod; port: number };
    /** HTTP request; absent for TCP (databases, caches). */
    http?: HttpRequest;
}

export interface Outcome {
    ok: boolean;
    /** Why it failed, or what it reached. */
    why: string;
    /** The pod that received it, and on which container port (and path, after gateway rewrites). */
    pod?: Pod;
    port?: number;
    path?: string;
}

const fail = (why: string): Outcome => ({ ok: false, why });

export function principalOf(view: ClusterView, namespace: string, serviceAccount: string): string {
    const istiod = view.releases.find((r) => r.chart === "istiod");
    const trustDomain = istiod?.values?.meshConfig?.trustDomain ?? "cluster.local";
    return `${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** An address a pod of the cluster has: one in the profile's first pod range. */
export function podAddress(view: ClusterView): string {
    const [base] = view.profile.network.podCidrs[0].split("/");
    if (base.includes(":")) return base.replace(/::$/, "::a");
    const o = base.split(".").map(Number);
    return [o[0], o[1], o[2], o[3] + 10].join(".");
}

export class TrafficModel {
    readonly network: NetworkModel;

    constructor(readonly view: ClusterView) {
        this.network = new NetworkModel(view.objects, view.profile.network);
    }

    private service(ns: string, name: string) {
        return this.view.objects.find(
            (o) => o.kind === "Service" && o.metadata.namespace === ns && o.metadata.name === name,
        );
    }

    /** Follow one hop. */
    deliver(hop: Hop): Outcome {
        const v = this.view;
        const from = hop.from;
        if ("internet" in from) return this.fromInternet(hop);
        if (!hop.to) return fail("no destination");
        if ("pod" in hop.to) return this.toPod(hop, hop.to.pod, hop.to.port);
        const svc = this.service(hop.to.namespace, hop.to.service);
        if (!svc) return fail(`no Service ${hop.to.namespace}/${hop.to.service}`);
        const sp = (svc.spec.ports ?? []).find((p: any) => p.port === hop.to!.port);
        if (!sp) return fail(`Service ${hop.to.service} has no port ${hop.to.port}`);
        const dest = podsOf(v, svc)[0];
        if (!dest) return fail(`Service ${hop.to.service} selects no pod`);
        const cport = targetPortOn(sp, dest);
        if (cport === undefined) return fail(`${dest.id} has no port ${sp.targetPort}`);
        if (!dest.ports.some((p) => p.containerPort === cport)) return fail(`${dest.id} does not serve ${cport}`);
        const http = hop.http && portProtocol(sp) !== "tcp" ? hop.http : undefined;

        if ("portForward" in from)
            return { ok: true, why: `port-forward into ${dest.id}:${cport}`, pod: dest, port: cport };

        if ("address" in from) {
            const type = svc.spec.type ?? "ClusterIP";
            if (from.via === "load-balancer" && type !== "LoadBalancer") return fail(`${hop.to.service} is ${type}`);
            if (from.via === "node-port" && type !== "NodePort" && type !== "LoadBalancer")
                return fail(`${hop.to.service} is ${type}`);
            const ranges: string[] | undefined = svc.spec.loadBalancerSourceRanges;
            if (from.via === "load-balancer" && ranges?.length && !ranges.some((r) => inCidr(from.address, r)))
                return fail(`${from.address} is outside loadBalancerSourceRanges`);
            // externalTrafficPolicy Local keeps the client's address; Cluster SNATs it to a node's.
            const keepsAddress = svc.spec.externalTrafficPolicy === "Local";
            const src: Endpoint = keepsAddress ? { kind: "address", ip: from.address } : { kind: "node" };
            const refused = this.network.refusal(src, endpointOf(dest), cport);
            if (refused) return fail(refused);
            return this.inbound(dest, cport, { mtls: false, ip: keepsAddress ? from.address : undefined, http });
        }

        if ("peerRegion" in from) {
            const host = fqdn(svc);
            const gw = chartPod(v.pods, "eastWestGateway");
            if (!gw) return fail("no east-west gateway");
            if (!eastWestPassthrough(v))
                return fail("the east-west gateway passes no *.local traffic through (AUTO_PASSTHROUGH 15443)");
            if (clusterLocal(v, host)) return fail(`${host} is cluster-local: other regions do not reach it`);
            if (!failsOver(v, host)) return fail(`${host}'s DestinationRule does not fail over to other regions`);
            const refused = this.network.refusal(endpointOf(gw), endpointOf(dest), cport);
            if (refused) return fail(`east-west gateway -> ${dest.id}: ${refused}`);
            const principal = principalOf(v, from.peerRegion.namespace, from.peerRegion.serviceAccount);
            return this.inbound(dest, cport, { mtls: true, principal, ip: podAddress(v), http });
        }

        // A pod of this cluster.
        const caller = from.pod;
        let mtls = false;
        if (caller.proxy === "sidecar" && http) {
            const host = http.host ?? `${fqdn(svc)}:${sp.port}`;
            const route = routeByHost(v, caller.namespace, sp.port, host);
            if ("passthrough" in route) {
                mtls = false; // PassthroughCluster: to the address the caller connected to, in plain text
            } else if (route.service !== svc) {
                return fail(`${caller.id}'s sidecar routes Host ${host} to ${fqdn(route.service)}, not ${fqdn(svc)}`);
            } else mtls = sendsMtls(v, caller.namespace, fqdn(svc), dest);
        } else if (caller.proxy) {
            mtls = sendsMtls(v, caller.namespace, fqdn(svc), dest);
        }
        const refused = this.network.refusal(endpointOf(caller), endpointOf(dest), cport);
        if (refused) return fail(`${caller.id} -> ${dest.id}: ${refused}`);
        return this.inbound(dest, cport, {
            mtls,
            principal: mtls ? principalOf(v, caller.namespace, caller.serviceAccount) : undefined,
            ip: podAddress(v),
            http,
        });
    }

    /** A pod's own address (no Service, no Host routing): what a PodMonitor scrapes. */
    private toPod(hop: Hop, dest: Pod, port: number): Outcome {
        const from = hop.from;
        if (!("pod" in from)) return fail("only pods address other pods directly here");
        if (!dest.ports.some((p) => p.containerPort === port) && !PROXY_OWN_PORTS.includes(port))
            return fail(`${dest.id} does not serve ${port}`);
        const refused = this.network.refusal(endpointOf(from.pod), endpointOf(dest), port);
        if (refused) return fail(`${from.pod.id} -> ${dest.id}: ${refused}`);
        const mtls = !!from.pod.proxy && !!dest.proxy;
        return this.inbound(dest, port, {
            mtls,
            principal: mtls ? principalOf(this.view, from.pod.namespace, from.pod.serviceAccount) : undefined,
            ip: podAddress(this.view),
            http: hop.http,
        });
    }

    private fromInternet(hop: Hop): Outcome {
        const v = this.view;
        const http = hop.http;
        if (!http?.host) return fail("an internet request names a host");
        const gw = chartPod(v.pods, "ingressGateway");
        if (!gw) return fail("no ingress gateway");
        const route = gatewayRoute(v, http.host, http.path);
        if (!route) return fail(`the ingress gateway has no route for ${http.host}${http.path}`);
        if ("answered" in route)
            return fail(`the ingress gateway answers ${http.host}${http.path} itself (${route.answered})`);
        if (http.https && !route.https) return fail(`${http.host} is not served over HTTPS`);
        const dest = podsOf(v, route.service)[0];
        if (!dest) return fail(`${route.service.metadata.name} selects no pod`);
        const sp = (route.service.spec.ports ?? []).find((p: any) => p.port === route.port);
        if (!sp) return fail(`${route.service.metadata.name} has no port ${route.port}`);
        const cport = targetPortOn(sp, dest)!;
        const refused = this.network.refusal(endpointOf(gw), endpointOf(dest), cport);
        if (refused) return fail(`ingress gateway -> ${dest.id}: ${refused}`);
        const mtls = sendsMtls(v, gw.namespace, fqdn(route.service), dest);
        return this.inbound(dest, cport, {
            mtls,
            principal: mtls ? principalOf(v, gw.namespace, gw.serviceAccount) : undefined,
            ip: podAddress(v),
            http: { ...http, path: route.path },
        });
    }

    /** The destination pod's side: its sidecar (if any) and the container port. */
    private inbound(
        dest: Pod,
        port: number,
        r: { mtls: boolean; principal?: string; ip?: string; http?: HttpRequest },
    ): Outcome {
        const reached: Outcome = { ok: true, why: `reached ${dest.id}:${port}`, pod: dest, port, path: r.http?.path };
        if (PROXY_OWN_PORTS.includes(port)) return reached;
        if (!dest.proxy) return r.mtls ? fail(`mTLS to ${dest.id}, which has no proxy to terminate it`) : reached;
        const mode = inboundMode(this.view, dest, port);
        if (mode === "STRICT" && !r.mtls)
            return fail(`${dest.id}:${port} is STRICT mTLS and the request is plain text`);
        if (mode === "DISABLE" && r.mtls) return fail(`${dest.id}:${port} has mTLS disabled`);
        let requestPrincipal: string | undefined;
        if (r.http) {
            const authn = authenticate(this.view, dest, r.http.token);
            if ("refused" in authn) return fail(`${dest.id}: ${authn.refused}`);
            requestPrincipal = authn.requestPrincipal;
        }
        const authz = authorize(
            this.view,
            dest,
            { principal: r.principal, requestPrincipal, ip: r.ip, port, path: r.http?.path, method: r.http?.method },
            inCidr,
        );
        if (!authz.ok) return fail(`${dest.id}: ${authz.why}`);
        return reached;
    }

    /** A pod's connection to an address outside the cluster (NetworkPolicy only). */
    toAddress(pod: Pod, ip: string, port: number, protocol = "TCP"): Outcome {
        const refused = this.network.refusal(endpointOf(pod), { kind: "address", ip }, port, protocol);
        return refused ? fail(refused) : { ok: true, why: `${pod.id} reaches ${ip}:${port}` };
    }

    /** A pod resolves names: cluster DNS (and the node-local cache where the cluster runs one). */
    resolves(pod: Pod): Outcome {
        const dns = chartPod(this.view.pods, "clusterDns")!;
        const local = this.view.profile.dns.nodeLocalCache;
        for (const protocol of ["UDP", "TCP"]) {
            const refused = local
                ? this.network.refusal(endpointOf(pod), { kind: "address", ip: local }, 53, protocol)
                : this.network.refusal(endpointOf(pod), endpointOf(dns), 53, protocol);
            if (refused) return fail(`${pod.id} cannot resolve names (${protocol}): ${refused}`);
        }
        return { ok: true, why: `${pod.id} resolves names` };
    }
}
