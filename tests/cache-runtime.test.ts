// The cache logins and TLS of a region stack, exercised on a real Redis server (Debian's redis-server,
// which .ci/run installs): the Redis ACL rules, users and passwords the us stack gives Redis Enterprise,
// and the host names, logins and key prefixes it gives each consumer's pods, are taken from the objects
// the program would send; the server certificate is made with openssl for exactly the DNS names the
// program's certificate request holds. What cannot exist here is changed, narrowly: the server is
// Redis OSS on loopback instead of a Redis Enterprise proxy (the same ACL rule syntax), and the
// consumers' in-cluster host names are only used as the TLS server name they verify.
import { strict as assert } from "node:assert";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { deployedStack } from "./harness/evaluate";
import { type K8sObject, kubernetesObjects, named, ofKind } from "./harness/k8s";

const IN_CI = /^(true|1)$/i.test(process.env.CI ?? "");
const NS = "redis-enterprise";
const REDIS_SERVER = "/usr/bin/redis-server";

type Obj = K8sObject & { stringData?: Record<string, string> };

/** A consumer as its pods see the cache: server name, port, login, key prefix. */
interface Consumer {
    name: string;
    host: string;
    username: string;
    password: string;
    keyPrefix: string;
}

/** Read a consumer's connection settings the way the kubelet builds its environment. */
function consumersOf(objects: Obj[]): Consumer[] {
    const secret = (ns: string, name: string) => named(objects, "Secret", name, ns).stringData ?? {};
    const shopConfig = named(objects, "ConfigMap", "warung-kopi-config", "warung-kopi").data;
    const shopLogin = secret("warung-kopi", "redis-credentials");
    const consumers: Consumer[] = [
        {
            name: "warung-kopi",
            host: shopConfig.REDIS_HOST,
            username: shopLogin.username,
            password: shopLogin.password,
            keyPrefix: shopConfig.REDIS_KEY_PREFIX,
        },
    ];
    for (const d of ofKind(objects, "Deployment", "ecommerce")) {
        const env = Object.fromEntries(
            (d.spec.template.spec.containers[0].env ?? []).map((e: any) => [
                e.name,
                e.value ?? secret("ecommerce", e.valueFrom?.secretKeyRef?.name)[e.valueFrom?.secretKeyRef?.key],
            ]),
        );
        if (env.CACHE_USERNAME)
            consumers.push({
                name: d.metadata.name!,
                host: env.CACHE_HOST,
                username: env.CACHE_USERNAME,
                password: env.CACHE_PASSWORD,
                keyPrefix: env.CACHE_KEY_PREFIX,
            });
    }
    return consumers;
}

/** The Redis ACL users the stack declares: user name, password (its Secret) and ACL rule (binding -> role -> ACL). */
function aclUsers(objects: Obj[]): { username: string; password: string; rule: string }[] {
    return ofKind(objects, "RedisEnterpriseUser", NS)
        .map((user) => {
            const binding = ofKind(objects, "RedisEnterpriseRoleBinding", NS).find((b) =>
                b.spec.subjects.some((s: any) => s.name === user.metadata.name),
            );
            const role = binding && named(objects, "RedisEnterpriseRole", binding.spec.roleRef.name, NS);
            const acl = role?.spec.acl && named(objects, "RedisEnterpriseACL", role.spec.acl.name, NS);
            const password = named(objects, "Secret", user.spec.passwordSecrets[0].name, NS).stringData!.password;
            return acl ? { username: user.spec.username as string, password, rule: acl.spec.acl as string } : undefined;
        })
        .filter((u): u is { username: string; password: string; rule: string } => !!u);
}

/** A minimal RESP client over one socket: send a command, read one reply (as text; errors start with "-"). */
class Resp {
    private buffer = "";
    private waiting: (() => void)[] = [];
    constructor(private readonly socket: net.Socket) {
        socket.setEncoding("utf8");
        socket.on("data", (d: string) => {
            this.buffer += d;
            this.waiting.splice(0).forEach((w) => w());
        });
    }
    private async line(): Promise<string> {
        for (;;) {
            const i = this.buffer.indexOf("\r\n");
            if (i >= 0) {
                const l = this.buffer.slice(0, i);
                this.buffer = this.buffer.slice(i + 2);
                return l;
            }
            await new Promise<void>((resolve, reject) => {
                this.waiting.push(resolve);
                this.socket.once("close", () => reject(new Error("connection closed")));
            });
        }
    }
    async command(...args: string[]): Promise<string> {
        this.socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
        const first = await this.line();
        if (first.startsWith("$") && first !== "$-1") return this.line();
        if (first.startsWith("*")) {
            const n = Number(first.slice(1));
            const items: string[] = [];
            for (let i = 0; i < n; i++) items.push(await this.item());
            return items.join(",");
        }
        return first;
    }
    private async item(): Promise<string> {
        const l = await this.line();
        return l.startsWith("$") ? this.line() : l;
    }
}

function tlsClient(port: number, servername: string, ca: string): Promise<Resp> {
    return new Promise((resolve, reject) => {
        const socket = tls.connect({ host: "127.0.0.1", port, servername, ca }, () => resolve(new Resp(socket)));
        socket.once("error", reject);
    });
}

async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((r) => server.close(r));
    return port;
}

describe("cache logins and TLS on a real Redis server (us stack's objects)", function () {
    this.timeout(120_000);
    let dir: string;
    let server: ChildProcess | undefined;
    let port: number;
    let ca: string;
    let consumers: Consumer[];
    const log: string[] = [];

    before(async function () {
        if (!fs.existsSync(REDIS_SERVER)) {
            if (IN_CI) throw new Error(`${REDIS_SERVER} missing (CI=true: .ci/run installs Debian's redis-server)`);
            console.log(`      skipped: ${REDIS_SERVER} missing (apt-get install redis-server)`);
            this.skip();
        }
        const us = await deployedStack("us");
        const objects = kubernetesObjects(us.resources) as Obj[];
        consumers = consumersOf(objects);
        const users = aclUsers(objects);
        const csr = us.resources.find(
            (r) => r.type === "tls:index/certRequest:CertRequest" && r.urn.includes("RedisEnterprise"),
        )!;
        const dnsNames: string[] = csr.inputs.dnsNames;

        dir = fs.mkdtempSync(path.join(os.tmpdir(), "cache-runtime-"));
        const openssl = (...args: string[]) => {
            const r = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
            assert.equal(r.status, 0, `openssl ${args.join(" ")}: ${r.stderr}`);
        };
        // The program's chain: an RSA CA, and an RSA server certificate for the request's DNS names.
        openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:3072",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=test CA",
        );
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            `/CN=${dnsNames[0]}`,
        );
        fs.writeFileSync(path.join(dir, "san.ext"), `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(",")}\n`);
        openssl(
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "1",
            "-extfile",
            "san.ext",
        );
        ca = fs.readFileSync(path.join(dir, "ca.crt"), "utf8");

        port = await freePort();
        const conf = [
            "port 0",
            `tls-port ${port}`,
            "bind 127.0.0.1",
            `dir ${dir}`,
            "tls-cert-file server.crt",
            "tls-key-file server.key",
            "tls-ca-cert-file ca.crt",
            "tls-auth-clients no",
            'save ""',
            "appendonly no",
            // The cache database has no default user (defaultUser: false).
            "user default off",
            ...users.map((u) => `user ${u.username} on >${u.password} ${u.rule}`),
        ];
        fs.writeFileSync(path.join(dir, "redis.conf"), conf.join("\n") + "\n");
        server = spawn(REDIS_SERVER, [path.join(dir, "redis.conf")], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
        server.stdout!.on("data", (d) => log.push(String(d)));
        server.stderr!.on("data", (d) => log.push(String(d)));
        for (let i = 0; i < 100; i++) {
            if (log.join("").includes("Ready to accept connections")) break;
            await new Promise((r) => setTimeout(r, 100));
        }
        assert.match(log.join(""), /Ready to accept connections/, log.join(""));
    });

    after(() => {
        server?.kill();
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("lets every consumer in with its own login over TLS, verifying the server as its host name, on its own keys only", async () => {
        assert.deepEqual(consumers.map((c) => c.name).sort(), [
            "payment",
            "product-catalog",
            "recommendation",
            "warung-kopi",
        ]);
        for (const c of consumers) {
            const client = await tlsClient(port, c.host, ca);
            assert.equal(await client.command("AUTH", c.username, c.password), "+OK", c.name);
            assert.equal(await client.command("SET", `${c.keyPrefix}k`, "v"), "+OK", `${c.name} writes its own key`);
            assert.equal(await client.command("GET", `${c.keyPrefix}k`), "v");
            const other = consumers.find((o) => o !== c)!;
            assert.match(
                await client.command("GET", `${other.keyPrefix}k`),
                /^-NOPERM/,
                `${c.name} reads ${other.name}'s key`,
            );
            assert.match(await client.command("SET", "unprefixed", "v"), /^-NOPERM/);
            for (const dangerous of [["FLUSHALL"], ["KEYS", "*"], ["CONFIG", "GET", "*"]])
                assert.match(await client.command(...dangerous), /^-NOPERM/, `${c.name}: ${dangerous[0]}`);
        }
    });

    it("refuses the default user, a wrong password, a plain-text client and a server name the certificate does not hold", async () => {
        const c = consumers[0];
        const client = await tlsClient(port, c.host, ca);
        assert.match(await client.command("GET", `${c.keyPrefix}k`), /^-NOAUTH/);
        assert.match(await client.command("AUTH", "default", c.password), /^-WRONGPASS/);
        assert.match(await client.command("AUTH", c.username, `${c.password}x`), /^-WRONGPASS/);
        const plain = net.connect(port, "127.0.0.1");
        const answer = await new Promise<string>((resolve) => {
            let got = "";
            plain.on("data", (d) => (got += String(d)));
            plain.on("close", () => resolve(got));
            plain.on("error", () => resolve(got));
            plain.write("*1\r\n$4\r\nPING\r\n");
            setTimeout(() => plain.destroy(), 2000);
        });
        assert.ok(!answer.includes("PONG"), "plain text gets no answer");
        await assert.rejects(tlsClient(port, "cache.example.com", ca), /altnames|Hostname/);
    });
});
