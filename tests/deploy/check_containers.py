"""check_containers: the offline check of deploy/container (hadolint is not in Debian and
no base image can be pulled here, so nothing is built): the rules a Dockerfile review
asks for, the runtime image's packages against what the built binaries really link
(ldd + dpkg -S), and compose.yaml against the settings file and the stack's recipes.
Run by tests/deploy/run.sh with /usr/bin/python3; prints one line per problem, exit 1."""
import json
import os
import re
import shlex
import subprocess
import sys

import strictyaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("RUNWATCH_BIN_DIR", os.path.join(REPO, "build", "release"))
problems = []


def problem(msg):
    problems.append(msg)


def read(rel):
    with open(os.path.join(REPO, rel), encoding="utf-8") as f:
        return f.read()


def settings(*rels):
    """NAME=value or NAME='value' lines of settings files, later files winning."""
    out = {}
    for rel in rels:
        for line in read(rel).splitlines():
            m = re.match(r"^(RUNWATCH_[A-Z0-9_]+)=(?:'([^']*)'|([^' ]*))$", line)
            if m:
                out[m.group(1)] = m.group(2) if m.group(2) is not None else m.group(3)
    return out


def instructions(rel):
    """(line, INSTRUCTION, args) of a Dockerfile, continuation lines joined."""
    out, buf, start = [], "", 0
    for n, raw in enumerate(read(rel).splitlines(), 1):
        line = raw.rstrip()
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not buf:
            start = n
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.strip().partition(" ")
        out.append((start, word.upper(), rest.strip()))
        buf = ""
    return out


def apt_packages(run_args):
    m = re.search(r"apt-get install ([^&;|]*)", run_args)
    if not m:
        return []
    return [w for w in m.group(1).split() if not w.startswith("-")]


def check_dockerfile(rel):
    ins = instructions(rel)
    stages, final = [], None
    for line, word, args in ins:
        where = f"{rel}:{line}"
        if word == "FROM":
            m = re.match(r"^(\S+?)(?::(\S+))?(?:\s+AS\s+(\S+))?$", args, re.I)
            if not m or not m.group(2) or m.group(2) == "latest":
                problem(f"{where}: FROM {args}: pin the base image to a tag (not latest)")
            stages.append({"name": m.group(3) if m else None, "ins": []})
            continue
        if not stages:
            problem(f"{where}: {word} before FROM")
            continue
        stages[-1]["ins"].append((line, word, args))
        if word == "ADD":
            problem(f"{where}: ADD: use COPY (ADD fetches URLs and unpacks archives)")
        if word in ("ENTRYPOINT", "CMD"):
            try:
                if not isinstance(json.loads(args), list):
                    raise ValueError
            except ValueError:
                problem(f"{where}: {word} in shell form: use the exec (JSON) form, so signals reach it")
        if word == "RUN" and "apt-get install" in args:
            if "--no-install-recommends" not in args:
                problem(f"{where}: apt-get install without --no-install-recommends")
            if "rm -rf /var/lib/apt/lists/*" not in args:
                problem(f"{where}: apt lists not removed in the same RUN")
            if "apt-get update" not in args:
                problem(f"{where}: apt-get install without apt-get update in the same RUN")
        if word == "RUN" and re.search(r"\bsudo\b", args):
            problem(f"{where}: sudo in a RUN")
        if word == "ENV" and re.search(r"(PASSWORD|TOKEN|SECRET)\w*=", args):
            problem(f"{where}: a secret in ENV: mount it as a file")
        if word == "COPY":
            parts = shlex.split(args)
            opts = [p for p in parts if p.startswith("--")]
            srcs = [p for p in parts if not p.startswith("--")][:-1]
            frm = [o.split("=", 1)[1] for o in opts if o.startswith("--from=")]
            if frm:
                if frm[0] not in [s["name"] for s in stages[:-1]]:
                    problem(f"{where}: COPY --from={frm[0]}: no earlier stage of that name")
            else:
                for s in srcs:
                    if not os.path.exists(os.path.join(REPO, s)):
                        problem(f"{where}: COPY {s}: no such file in the repository")
    if len(stages) < 2:
        problem(f"{rel}: not a multi-stage build")
    final = stages[-1] if stages else {"ins": []}
    words = [w for _, w, _ in final["ins"]]
    users = [a for _, w, a in final["ins"] if w == "USER"]
    if not users or users[-1].split(":")[0] in ("0", "root"):
        problem(f"{rel}: the final stage does not switch to a non-root USER")
    elif not re.match(r"^[1-9][0-9]*(:[1-9][0-9]*)?$", users[-1]):
        problem(f"{rel}: USER {users[-1]}: numeric uid:gid, so runAsNonRoot can verify it")
    if "HEALTHCHECK" not in words:
        problem(f"{rel}: the final stage has no HEALTHCHECK")
    return stages


def needed_packages(binaries):
    """Debian packages holding the shared libraries the binaries name (DT_NEEDED; what
    those need in turn comes with the packages' own dependencies), but libc6, which
    every Debian image has."""
    pkgs = set()
    for b in binaries:
        dyn = subprocess.run(["readelf", "-d", b], capture_output=True, text=True, check=True).stdout
        needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn))
        # `make asan` runs this against sanitizer builds; the image builds the release
        # flavour, which links no sanitizer runtime.
        needed = {n for n in needed if not re.match(r"lib(a|ub|l|t)san\.so", n)}
        paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", subprocess.run(
            ["ldd", b], capture_output=True, text=True, check=True).stdout, re.M))
        for lib in sorted(needed):
            if lib not in paths:
                problem(f"{os.path.basename(b)} needs {lib}, which ldd does not find")
                continue
            r = subprocess.run(["dpkg", "-S", paths[lib]], capture_output=True, text=True)
            if r.returncode != 0:
                r = subprocess.run(["dpkg", "-S", os.path.realpath(paths[lib])],
                                   capture_output=True, text=True)
            if r.returncode != 0:
                problem(f"{os.path.basename(b)}: {paths[lib]} belongs to no package")
                continue
            pkgs.add(r.stdout.split(":")[0].strip())
    return pkgs - {"libc6"}


def install_deps_packages():
    text = read("deploy/install-deps.sh")
    m = re.search(r"RUN_PACKAGES=\((.*?)\n\)", text, re.S)
    body = "\n".join(l.split("#")[0] for l in m.group(1).splitlines())
    return set(body.split())


def check_images():
    api = check_dockerfile("deploy/container/Dockerfile")
    check_dockerfile("deploy/container/Dockerfile.web")
    build = {p for _, w, a in api[0]["ins"] if w == "RUN" for p in apt_packages(a)}
    runtime = {p for _, w, a in api[-1]["ins"] if w == "RUN" for p in apt_packages(a)}
    libs_dev = {p for p in install_deps_packages() if p.endswith("-dev")}
    for p in sorted(libs_dev - build):
        problem(f"deploy/container/Dockerfile: the build stage lacks {p} (deploy/install-deps.sh has it)")
    bins = [os.path.join(BIN, b) for b in ("runwatch-api", "runwatch-sse", "runwatch-celery")]
    for p in sorted(needed_packages(bins) - runtime):
        problem(f"deploy/container/Dockerfile: the runtime stage lacks {p}, which the binaries link")
    web = instructions("deploy/container/Dockerfile.web")
    web_copies = " ".join(a for _, w, a in web if w == "COPY")
    gen = read("deploy/generate.sh")
    for conf in ("deploy/container/nginx.conf", "deploy/container/nginx-tls.conf"):
        if conf not in web_copies:
            problem(f"Dockerfile.web does not copy {conf}")
        if conf not in gen:
            problem(f"{conf} is not one of deploy/generate.sh's outputs")
    # Every snippet the template includes is in the web image.
    for inc in sorted(set(re.findall(r'include "@REPO_DIR@/(nginx/[a-z_]+\.conf)"',
                                     read("nginx/runwatch.conf.in")) + ["nginx/tls.conf"])):
        if inc not in web_copies:
            problem(f"Dockerfile.web does not copy {inc}, which the nginx configuration includes")


def check_compose():
    rel = "deploy/container/compose.yaml"
    try:
        doc = strictyaml.load(os.path.join(REPO, rel))
    except Exception as e:  # noqa: BLE001 — any parse error is the finding
        problem(f"{rel}: {e}")
        return
    env_rel = "deploy/k8s/base/runwatch.env"
    env = settings(env_rel)
    tls = settings(env_rel, "deploy/container/tls.env")
    services = doc.get("services", {})
    for name in ("postgres", "postgres-replica", "redis", "migrate", "api", "housekeeper", "hub", "web"):
        if name not in services:
            problem(f"{rel}: no service {name}")
    defined = set(doc.get("secrets", {}))
    for name, svc in services.items():
        for s in svc.get("secrets", []):
            if s not in defined:
                problem(f"{rel}: service {name} uses secret {s}, which is not defined")
        if svc.get("image", "").startswith("runwatch"):
            # The Celery bridge reads its own settings after the shared ones.
            shared = "../k8s/base/runwatch.env"
            if svc.get("env_file") != (shared if name != "celery" else [shared, "./celery.env"]):
                problem(f"{rel}: service {name} does not read {env_rel}")
            if "environment" in svc:
                problem(f"{rel}: service {name} sets environment: settings live in {env_rel}")
            if svc.get("cap_drop") != ["ALL"] or not svc.get("read_only"):
                problem(f"{rel}: service {name}: drop every capability, read-only root filesystem")
        if svc.get("privileged"):
            problem(f"{rel}: service {name} is privileged")
    api_port = env["RUNWATCH_API_TCP"].rsplit(":", 1)[1]
    cmds = {n: (s.get("entrypoint"), s.get("command")) for n, s in services.items()}
    if cmds.get("api", (None, None))[1] != ["serve"] or api_port not in services["api"].get("expose", []):
        problem(f"{rel}: api must run serve and expose {api_port} (RUNWATCH_API_TCP)")
    if cmds.get("housekeeper", (None, None))[1] != ["housekeeper"] or env.get("RUNWATCH_HOUSEKEEPER") != "off":
        problem(f"{rel}: housekeeper must run `housekeeper`, and the API none (RUNWATCH_HOUSEKEEPER=off)")
    if cmds.get("migrate", (None, None))[1] != ["migrate"]:
        problem(f"{rel}: migrate must run `migrate`")
    if cmds.get("hub", (None, None))[0] != ["runwatch-sse"] or env["RUNWATCH_SSE_PORT"] not in services["hub"].get("expose", []):
        problem(f"{rel}: hub must run runwatch-sse and expose RUNWATCH_SSE_PORT")
    if f"hub:{env['RUNWATCH_SSE_PORT']}" not in env["RUNWATCH_NGINX_SSE_SERVERS"].split(","):
        problem(f"{env_rel}: RUNWATCH_NGINX_SSE_SERVERS does not name the hub service's port")
    if f"api:{api_port}" not in env["RUNWATCH_NGINX_API_SERVERS"].split(","):
        problem(f"{env_rel}: RUNWATCH_NGINX_API_SERVERS does not name the api service's port")
    web = services.get("web", {})
    ports = {p.split(":")[1] for p in web.get("ports", [])}
    for k in ("RUNWATCH_HTTP_PORT", "RUNWATCH_NGINX_REDIRECT_PORT"):
        if tls[k] not in ports:
            problem(f"{rel}: web does not publish {k} ({tls[k]})")
    if f"443:{tls['RUNWATCH_HTTP_PORT']}" not in web.get("ports", []) or tls.get("RUNWATCH_NGINX_REDIRECT_TO") != "443":
        problem(f"{rel}: web publishes HTTPS as 443 and the redirect says so (RUNWATCH_NGINX_REDIRECT_TO)")
    if web.get("command") != ["nginx-tls.conf"]:
        problem(f"{rel}: web must serve the TLS rendering (nginx-tls.conf)")
    # Each secret file the settings name is one compose mounts.
    for k, v in tls.items():
        if v.startswith("/run/secrets/"):
            s = v[len("/run/secrets/"):]
            users = [n for n, svc in services.items() if s in svc.get("secrets", [])]
            if not users:
                problem(f"{rel}: {k} names {v}, which no service mounts")
    # The Celery bridge: off unless asked for (a profile), the image's runwatch-celery, its
    # token a secret the service mounts.
    celery = services.get("celery")
    if celery is None:
        problem(f"{rel}: no service celery")
    else:
        cel = settings("deploy/container/celery.env")
        if cmds["celery"][0] != ["runwatch-celery"] or celery.get("profiles") != ["celery"]:
            problem(f"{rel}: celery must run runwatch-celery, only under the profile celery")
        for k in ("RUNWATCH_CELERY_BROKER", "RUNWATCH_CELERY_URL", "RUNWATCH_CELERY_TOKEN_FILE"):
            if not cel.get(k):
                problem(f"deploy/container/celery.env: no {k}")
        tf = cel.get("RUNWATCH_CELERY_TOKEN_FILE", "")
        if not tf.startswith("/run/secrets/") or tf[len("/run/secrets/"):] not in celery.get("secrets", []):
            problem(f"{rel}: celery does not mount the secret RUNWATCH_CELERY_TOKEN_FILE names ({tf})")
    # The health checks are the images' own.
    for name, arg in (("api", "api"), ("hub", "hub")):
        if services.get(name, {}).get("healthcheck", {}).get("test") != ["CMD", "healthcheck", arg]:
            problem(f"{rel}: {name}'s healthcheck must be the image's `healthcheck {arg}`")
    # Redis as the stack runs it (deploy/stack/redis.sh): pub/sub only, no persistence.
    redis_cmd = " ".join(services.get("redis", {}).get("entrypoint", []))
    stack_redis = read("deploy/stack/redis.sh")
    for stack_line, flag in (('save ""', "--save ''"), ("appendonly no", "--appendonly no"),
                             ("protected-mode yes", "--protected-mode yes"), ("requirepass", "--requirepass")):
        if stack_line in stack_redis and flag not in redis_cmd:
            problem(f"{rel}: redis lacks {flag} (deploy/stack/redis.sh: {stack_line})")
    # The report login as the stack makes it.
    stack_pg = read("deploy/stack/postgres.sh")
    initdb = read("deploy/container/initdb.sh")
    for stmt in re.findall(r'"(ALTER ROLE runwatch_report SET [^"]+)"', stack_pg):
        if stmt + ";" not in initdb:
            problem(f"deploy/container/initdb.sh: lacks `{stmt}` (deploy/stack/postgres.sh)")
    m = re.search(r'"CREATE ROLE runwatch_report ([^"]+)"', stack_pg)
    if m and f"CREATE ROLE runwatch_report {m.group(1)}" not in initdb:
        problem("deploy/container/initdb.sh: runwatch_report's attributes differ from deploy/stack/postgres.sh")


def main():
    check_images()
    check_compose()
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
