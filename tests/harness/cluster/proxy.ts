// What an nginx reverse proxy sends upstream, read from its configuration: the upstream address
// (proxy_pass, through a `set` variable or not) and the request headers (proxy_set_header of the
// location, else of the server; nginx's defaults Host $proxy_host and Connection close otherwise).

export interface UpstreamRequest {
    /** Host name and port proxy_pass connects to. */
    host: string;
    port: number;
    /** Headers as nginx sends them (names lower-case). */
    headers: Record<string, string>;
}

function block(conf: string, opener: RegExp): string | undefined {
    const m = opener.exec(conf);
    if (!m) return undefined;
    let depth = 0;
    for (let i = m.index + m[0].length - 1; i < conf.length; i++) {
        if (conf[i] === "{") depth++;
        else if (conf[i] === "}" && --depth === 0) return conf.slice(m.index, i + 1);
    }
    return undefined;
}

const directives = (text: string, name: string): string[][] =>
    [...text.matchAll(new RegExp(`^\\s*${name}\\s+([^;]*);`, "gm"))].map((m) => m[1].trim().split(/\s+/));

/**
 * The request nginx sends upstream for a request to `location` (a `location <prefix> {` block of the
 * first server that has it), from a client that sent `clientHost` as its Host header.
 */
export function nginxUpstreamRequest(conf: string, location: string, clientHost: string): UpstreamRequest {
    const escaped = location.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    const loc = block(conf, new RegExp(`location\\s+${escaped}\\s*\\{`, "m"));
    if (!loc) throw new Error(`no location ${location} in the nginx configuration`);
    const server = conf
        .slice(0, conf.indexOf(loc))
        .split(/^server\s*\{/m)
        .pop()!;
    const vars = Object.fromEntries(directives(server + loc, "set").map(([name, ...value]) => [name, value.join(" ")]));
    const pass = directives(loc, "proxy_pass")[0]?.[0];
    if (!pass) throw new Error(`location ${location} has no proxy_pass`);
    const target = pass.startsWith("$") ? vars[pass] : pass;
    const url = new URL(target);
    const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    const proxyHost = url.port ? `${url.hostname}:${url.port}` : url.hostname;
    const clientHostOnly = clientHost.replace(/:\d+$/, "").toLowerCase();
    const value = (v: string) =>
        v
            .replace(/\$proxy_host\b/g, proxyHost)
            .replace(/\$http_host\b/g, clientHost)
            .replace(/\$host\b/g, clientHostOnly)
            .replace(/\$scheme\b/g, "http")
            .replace(/\$proxy_add_x_forwarded_for\b/g, "192.0.2.1")
            .replace(/\$remote_addr\b/g, "192.0.2.1");
    const set = directives(loc, "proxy_set_header");
    // proxy_set_header is inherited from the server level only when the location sets none.
    const effective = set.length > 0 ? set : directives(server.replace(loc, ""), "proxy_set_header");
    const headers: Record<string, string> = { host: proxyHost, connection: "close" };
    for (const [name, ...v] of effective) headers[name.toLowerCase()] = value(v.join(" ").replace(/^"|"$/g, ""));
    return { host: url.hostname, port, headers };
}
