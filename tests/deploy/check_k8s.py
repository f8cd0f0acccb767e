"""check_k8s: the offline check of deploy/k8s (no cluster, no kubectl here): every file
through the strict loader, the base and each overlay built the way kustomize would for
the features they use (resources, replicas, images, strategic-merge patches by kind and
name, JSON patches, the settings ConfigMap from runwatch.env, secretGenerator), then the
assertions the deployment rests on: probes, PodDisruptionBudgets, HPA on CPU, one
housekeeper, a migrations Job, Services and selectors that match, the Ingress's SSE
settings, hardened pods, NetworkPolicies that let only the web pods reach the hub and
the API, and ports and commands that agree with runwatch.env and the images.
Run by tests/deploy/run.sh with /usr/bin/python3; prints one line per problem, exit 1."""
import copy
import os
import re
import sys

import strictyaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
K8S = os.path.join(REPO, "deploy", "k8s")
problems = []


def problem(msg):
    problems.append(msg)


def rel(path):
    return os.path.relpath(path, REPO)


def key(doc):
    return (doc.get("kind"), doc.get("metadata", {}).get("name"))


def merge(base, patch):
    """Strategic merge, as far as these patches need: maps merge, lists of maps with a
    name merge by name, other values replace."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    if (isinstance(base, list) and isinstance(patch, list) and patch
            and all(isinstance(x, dict) and "name" in x for x in base + patch)):
        out = [copy.deepcopy(x) for x in base]
        for p in patch:
            for i, b in enumerate(out):
                if b["name"] == p["name"]:
                    out[i] = merge(b, p)
                    break
            else:
                out.append(copy.deepcopy(p))
        return out
    return copy.deepcopy(patch)


def json_patch(doc, ops, where):
    for op in ops:
        parts = [p for p in op["path"].split("/")[1:]]
        node = doc
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node.get(p)
            if node is None:
                problem(f"{where}: patch path {op['path']} does not exist")
                return
        last = parts[-1]
        if op["op"] == "replace":
            if isinstance(node, list):
                if int(last) >= len(node):
                    problem(f"{where}: patch path {op['path']} does not exist")
                    continue
                node[int(last)] = op["value"]
            else:
                if last not in node:
                    problem(f"{where}: replace of a missing {op['path']}")
                    continue
                node[last] = op["value"]
        else:
            problem(f"{where}: op {op['op']} is not one this check models")


def settings(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(RUNWATCH_[A-Z0-9_]+)=([^' ]*)$", line.rstrip("\n"))
            if m:
                out[m.group(1)] = m.group(2)
            elif line.strip() and not line.startswith("#"):
                problem(f"{rel(path)}: not a NAME=value line (kustomize keeps quotes): {line.strip()}")
    return out


def build(directory):
    """The resources of a kustomization, as kustomize would emit them (by kind and name)."""
    kpath = os.path.join(directory, "kustomization.yaml")
    try:
        k = strictyaml.load(kpath)
    except Exception as e:  # noqa: BLE001
        problem(f"{rel(kpath)}: {e}")
        return {}
    out = {}
    for r in k.get("resources", []):
        p = os.path.normpath(os.path.join(directory, r))
        if os.path.isdir(p):
            out.update(build(p))
            continue
        if not os.path.exists(p):
            problem(f"{rel(kpath)}: resource {r} does not exist")
            continue
        for doc in strictyaml.load_all(p):
            for field in ("apiVersion", "kind"):
                if field not in doc:
                    problem(f"{rel(p)}: a document without {field}")
            if not doc.get("metadata", {}).get("name"):
                problem(f"{rel(p)}: a {doc.get('kind')} without metadata.name")
            if key(doc) in out:
                problem(f"{rel(p)}: {key(doc)} defined twice")
            doc["_file"] = rel(p)
            out[key(doc)] = doc
    for g in k.get("configMapGenerator", []):
        data = {}
        for e in g.get("envs", []):
            p = os.path.join(directory, e)
            if not os.path.exists(p):
                problem(f"{rel(kpath)}: configMapGenerator env file {e} does not exist")
                continue
            data.update(settings(p))
        out[("ConfigMap", g["name"])] = {"kind": "ConfigMap", "metadata": {"name": g["name"]},
                                         "data": data, "_file": rel(kpath)}
    for g in k.get("secretGenerator", []):
        if g.get("behavior") == "replace" and ("Secret", g["name"]) not in out:
            problem(f"{rel(kpath)}: secretGenerator replaces {g['name']}, which the base lacks")
        names = [os.path.basename(f) for f in g.get("files", [])]
        base = out.get(("Secret", g["name"]), {})
        missing = set(base.get("stringData", {})) - set(names)
        if missing:
            problem(f"{rel(kpath)}: secretGenerator {g['name']} lacks {sorted(missing)}")
        out[("Secret", g["name"])] = {"kind": "Secret", "metadata": {"name": g["name"]},
                                      "stringData": {n: "" for n in names}, "_file": rel(kpath)}
    for r in k.get("replicas", []):
        d = out.get(("Deployment", r["name"]))
        if d is None:
            problem(f"{rel(kpath)}: replicas for {r['name']}, no such Deployment")
        else:
            d["spec"]["replicas"] = r["count"]
    used_images = {c["image"].split(":")[0] for d in out.values() for c in containers(d)}
    for im in k.get("images", []):
        if im["name"] not in used_images:
            problem(f"{rel(kpath)}: image {im['name']} is used by no container")
    for p in k.get("patches", []):
        if "path" in p:
            pp = os.path.join(directory, p["path"])
            if not os.path.exists(pp):
                problem(f"{rel(kpath)}: patch {p['path']} does not exist")
                continue
            for doc in strictyaml.load_all(pp):
                if key(doc) not in out:
                    problem(f"{rel(pp)}: patches {key(doc)}, which is not in the build")
                    continue
                out[key(doc)] = merge(out[key(doc)], doc)
        else:
            t = p.get("target", {})
            kd = (t.get("kind"), t.get("name"))
            if kd not in out:
                problem(f"{rel(kpath)}: a patch targets {kd}, which is not in the build")
                continue
            json_patch(out[kd], strictyaml.yaml.safe_load(p["patch"]), rel(kpath))
    return out


def pod_spec(doc):
    spec = doc.get("spec", {})
    if doc.get("kind") in ("Deployment", "Job"):
        return spec.get("template", {}).get("spec", {})
    return {}


def containers(doc):
    return pod_spec(doc).get("containers", [])


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check(res, name, env_path):
    env = settings(env_path)
    deps = {n: d for (k, n), d in res.items() if k == "Deployment"}
    for want in ("runwatch-api", "runwatch-hub", "runwatch-web", "runwatch-housekeeper", "runwatch-celery"):
        if want not in deps:
            problem(f"{name}: no Deployment {want}")
    if ("ConfigMap", "runwatch-settings") not in res:
        problem(f"{name}: no ConfigMap runwatch-settings")
    secret_keys = set(res.get(("Secret", "runwatch-secrets"), {}).get("stringData", {}))
    secret_files = {v[len("/run/secrets/"):] for v in env.values() if v.startswith("/run/secrets/")}
    for m in re.finditer(r"passfile=/run/secrets/(\w+)", " ".join(env.values())):
        secret_files.add(m.group(1))
    for s in sorted(secret_files - secret_keys):
        problem(f"{name}: runwatch.env names /run/secrets/{s}, which Secret runwatch-secrets lacks")

    # Commands and ports as the images and runwatch.env say.
    expect = {
        "runwatch-api": ({"args": ["serve"]}, int(env["RUNWATCH_API_TCP"].rsplit(":", 1)[1])),
        "runwatch-hub": ({"command": ["runwatch-sse"]}, int(env["RUNWATCH_SSE_PORT"])),
        "runwatch-web": ({"args": ["nginx.conf"]}, int(env["RUNWATCH_HTTP_PORT"])),
        "runwatch-housekeeper": ({"args": ["housekeeper"]}, None),
        "runwatch-celery": ({"command": ["runwatch-celery"]}, None),
    }
    for dname, (cmd, port) in expect.items():
        d = deps.get(dname)
        if not d:
            continue
        where = f"{name}: Deployment {dname} ({d['_file']})"
        cs = containers(d)
        if len(cs) != 1:
            problem(f"{where}: one container expected")
            continue
        c = cs[0]
        for k, v in cmd.items():
            if c.get(k) != v:
                problem(f"{where}: {k} must be {v}")
        ports = [p["containerPort"] for p in c.get("ports", [])]
        if port is not None and ports != [port]:
            problem(f"{where}: containerPort {ports}, runwatch.env says {port}")
        if port is None and ports:
            problem(f"{where}: serves no port")
        if {"configMapRef": {"name": "runwatch-settings"}} not in c.get("envFrom", []):
            problem(f"{where}: does not take its settings from runwatch-settings")
        if c.get("env"):
            problem(f"{where}: sets env of its own: settings live in runwatch.env")
        # Hardening.
        ps = pod_spec(d)
        sc, csc = ps.get("securityContext", {}), c.get("securityContext", {})
        if not sc.get("runAsNonRoot") or not sc.get("runAsUser") or sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problem(f"{where}: pod must run as non-root with a uid and the RuntimeDefault seccomp profile")
        if csc.get("allowPrivilegeEscalation") is not False or not csc.get("readOnlyRootFilesystem") \
                or csc.get("capabilities", {}).get("drop") != ["ALL"]:
            problem(f"{where}: container must drop ALL capabilities, forbid privilege escalation, read-only root")
        if ps.get("automountServiceAccountToken") is not False:
            problem(f"{where}: no service account token (Runwatch never calls the API server)")
        r = c.get("resources", {})
        if not r.get("requests", {}).get("cpu") or not r.get("limits", {}).get("memory"):
            problem(f"{where}: needs a CPU request (the HPA's base) and a memory limit")
        vols = {v["name"]: v for v in ps.get("volumes", [])}
        for vm in c.get("volumeMounts", []):
            if vm["name"] not in vols:
                problem(f"{where}: mounts volume {vm['name']}, which the pod lacks")
            elif vm["mountPath"] == "/run/secrets":
                sec = vols[vm["name"]].get("secret", {})
                if sec.get("secretName") != "runwatch-secrets":
                    problem(f"{where}: /run/secrets is not runwatch-secrets")
                for it in sec.get("items", []):
                    if it["key"] not in secret_keys:
                        problem(f"{where}: mounts secret key {it['key']}, which runwatch-secrets lacks")
        # Probes: the serving tiers have both, on their own port.
        if dname in ("runwatch-api", "runwatch-hub", "runwatch-web"):
            names = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe"):
                pr = c.get(probe)
                if not pr:
                    problem(f"{where}: no {probe}")
                    continue
                for kind in ("httpGet", "tcpSocket"):
                    if kind in pr:
                        p = pr[kind]["port"]
                        if names.get(p, p) != port:
                            problem(f"{where}: {probe} probes port {p}, not {port}")
                if "exec" in pr and dname == "runwatch-api" and pr["exec"]["command"] != ["healthcheck", "api"]:
                    problem(f"{where}: {probe} must run the image's `healthcheck api`")
        # The selector picks the template's pods.
        if not selects(d["spec"].get("selector", {}).get("matchLabels"),
                       d["spec"]["template"]["metadata"].get("labels", {})):
            problem(f"{where}: selector does not match the pod template's labels")

    hk = deps.get("runwatch-housekeeper")
    if hk and (hk["spec"].get("replicas") != 1 or "runwatch-housekeeper" in
               {h["spec"]["scaleTargetRef"]["name"] for (k, _), h in res.items() if k == "HorizontalPodAutoscaler"}):
        problem(f"{name}: the housekeeper is one replica, never autoscaled")
    # The Celery bridge: off or one, never two at once (every event would be stored twice),
    # its broker URL and token from its own Secret, allowed into web like a client.
    cel = deps.get("runwatch-celery")
    if cel:
        where = f"{name}: Deployment runwatch-celery ({cel['_file']})"
        hpas = {h["spec"]["scaleTargetRef"]["name"] for (k, _), h in res.items() if k == "HorizontalPodAutoscaler"}
        if cel["spec"].get("replicas") not in (0, 1) or "runwatch-celery" in hpas:
            problem(f"{where}: 0 or 1 replica, never autoscaled")
        if cel["spec"].get("strategy", {}).get("type") != "Recreate":
            problem(f"{where}: strategy Recreate (the old bridge stops before the new one starts)")
        refs = containers(cel)[0].get("envFrom", []) if containers(cel) else []
        sec = res.get(("Secret", "runwatch-celery"), {}).get("stringData", {})
        if {"secretRef": {"name": "runwatch-celery"}} not in refs or "RUNWATCH_CELERY_BROKER" not in sec:
            problem(f"{where}: takes RUNWATCH_CELERY_BROKER from Secret runwatch-celery")
        if "RUNWATCH_CELERY_BROKER" in env or "RUNWATCH_CELERY_TOKEN" in env:
            problem(f"{name}: runwatch.env holds the Celery broker URL or token: they go in Secret runwatch-celery")
        if not env.get("RUNWATCH_CELERY_URL", "").startswith(f"http://web:{env['RUNWATCH_HTTP_PORT']}"):
            problem(f"{name}: RUNWATCH_CELERY_URL must be the web Service (http://web:RUNWATCH_HTTP_PORT)")
        lets_in = any(
            selects(p["spec"].get("podSelector", {}).get("matchLabels"), deps["runwatch-web"]["spec"]["template"]["metadata"]["labels"])
            and any(selects(f.get("podSelector", {}).get("matchLabels"), cel["spec"]["template"]["metadata"]["labels"])
                    for rule in p["spec"].get("ingress", []) for f in rule.get("from", []))
            for (k, _), p in res.items() if k == "NetworkPolicy") if "runwatch-web" in deps else False
        if not lets_in:
            problem(f"{name}: no NetworkPolicy lets the Celery bridge reach the web pods")
    if env.get("RUNWATCH_HOUSEKEEPER") != "off":
        problem(f"{name}: RUNWATCH_HOUSEKEEPER must be off (the api pods run none; the housekeeper Deployment does)")

    jobs = [d for (k, _), d in res.items() if k == "Job"]
    if not any(c.get("args") == ["migrate"] for j in jobs for c in containers(j)):
        problem(f"{name}: no Job runs migrate")
    for j in jobs:
        if pod_spec(j).get("restartPolicy") not in ("OnFailure", "Never"):
            problem(f"{name}: Job {j['metadata']['name']}: restartPolicy OnFailure or Never")

    pod_labels = {n: d["spec"]["template"]["metadata"].get("labels", {}) for n, d in deps.items()}
    services = {n: s for (k, n), s in res.items() if k == "Service"}
    for sname, s in services.items():
        if s["spec"].get("type") == "ExternalName":
            continue
        hits = [n for n, lb in pod_labels.items() if selects(s["spec"].get("selector"), lb)]
        if len(hits) != 1:
            problem(f"{name}: Service {sname} selects {hits or 'no Deployment'}, one expected")
            continue
        c = containers(deps[hits[0]])[0]
        cports = {p["name"] for p in c.get("ports", [])} | {p["containerPort"] for p in c.get("ports", [])}
        for p in s["spec"].get("ports", []):
            if p.get("targetPort") not in cports:
                problem(f"{name}: Service {sname} targets port {p.get('targetPort')}, which {hits[0]} lacks")
    # The names runwatch.env and the web pods' nginx use are Services here.
    for host in re.findall(r"@([a-z0-9-]+):", " ".join(env.values())) + \
            [h.rsplit(":", 1)[0] for k in ("RUNWATCH_NGINX_API_SERVERS", "RUNWATCH_NGINX_SSE_SERVERS")
             for h in env[k].split(",")] + re.findall(r"redis://([a-z0-9-]+):", env["RUNWATCH_REDIS_URL"]):
        if host not in services:
            problem(f"{name}: runwatch.env names host {host}, which is no Service")
    for sname, port_env in (("api", "RUNWATCH_API_TCP"), ("hub", "RUNWATCH_SSE_PORT")):
        port = int(env[port_env].rsplit(":", 1)[-1])
        if sname in services and port not in [p["port"] for p in services[sname]["spec"]["ports"]]:
            problem(f"{name}: Service {sname} does not listen on {port} ({port_env})")

    for kind in ("PodDisruptionBudget", "HorizontalPodAutoscaler"):
        objs = {n: o for (k, n), o in res.items() if k == kind}
        for dname in ("runwatch-api", "runwatch-hub", "runwatch-web"):
            o = objs.get(dname)
            if not o:
                problem(f"{name}: no {kind} {dname}")
                continue
            if kind == "PodDisruptionBudget":
                if not selects(o["spec"].get("selector", {}).get("matchLabels"), pod_labels.get(dname, {})):
                    problem(f"{name}: PodDisruptionBudget {dname} does not select its pods")
                if "minAvailable" not in o["spec"] and "maxUnavailable" not in o["spec"]:
                    problem(f"{name}: PodDisruptionBudget {dname} sets no budget")
            else:
                if o["spec"]["scaleTargetRef"]["name"] != dname:
                    problem(f"{name}: HPA {dname} scales {o['spec']['scaleTargetRef']['name']}")
                metrics = o["spec"].get("metrics", [])
                if not any(m.get("resource", {}).get("name") == "cpu" for m in metrics):
                    problem(f"{name}: HPA {dname} is not on CPU")
                if o["spec"]["minReplicas"] > o["spec"]["maxReplicas"]:
                    problem(f"{name}: HPA {dname}: minReplicas above maxReplicas")
                reps = deps.get(dname, {}).get("spec", {}).get("replicas", 0)
                if not o["spec"]["minReplicas"] <= reps <= o["spec"]["maxReplicas"]:
                    problem(f"{name}: {dname} has {reps} replicas, outside its HPA's range")

    ing = [o for (k, _), o in res.items() if k == "Ingress"]
    names = sorted(i["metadata"]["name"] for i in ing)
    if names != ["runwatch", "runwatch-agl"]:
        problem(f"{name}: Ingresses {names}, expected runwatch and runwatch-agl")
    for i in ing:
        paths = [p["path"] for r in i["spec"].get("rules", []) for p in r["http"]["paths"]]
        quiet = i["metadata"].get("annotations", {}).get(
            "nginx.ingress.kubernetes.io/enable-access-log") == "false"
        # A store root carries a project token in its path: no access log may record it.
        if any(p.startswith("/agl") for p in paths) != quiet:
            problem(f"{name}: Ingress {i['metadata']['name']}: the controller's access log must be "
                    "off for /agl/ (a token in the path) and only there")
    for i in ing:
        a = i["metadata"].get("annotations", {})
        if a.get("nginx.ingress.kubernetes.io/proxy-buffering") != "off":
            problem(f"{name}: Ingress must not buffer (the live stream)")
        for t in ("proxy-read-timeout", "proxy-send-timeout"):
            if int(a.get(f"nginx.ingress.kubernetes.io/{t}", "0")) < 3600:
                problem(f"{name}: Ingress {t} under an hour (the live stream)")
        if not i["spec"].get("tls"):
            problem(f"{name}: Ingress without TLS")
        for r in i["spec"].get("rules", []):
            for p in r["http"]["paths"]:
                b = p["backend"]["service"]
                if b["name"] != "web":
                    problem(f"{name}: Ingress sends {p['path']} to {b['name']}: everything goes through web's nginx")

    pols = {n: p for (k, n), p in res.items() if k == "NetworkPolicy"}
    if not any(p["spec"].get("podSelector") == {} and "Ingress" in p["spec"].get("policyTypes", [])
               and not p["spec"].get("ingress") for p in pols.values()):
        problem(f"{name}: no default-deny NetworkPolicy")
    for tier, port in (("runwatch-hub", int(env["RUNWATCH_SSE_PORT"])),
                       ("runwatch-api", int(env["RUNWATCH_API_TCP"].rsplit(":", 1)[1]))):
        allowing = [p for p in pols.values()
                    if selects(p["spec"].get("podSelector", {}).get("matchLabels"), pod_labels.get(tier, {}))]
        if not allowing:
            problem(f"{name}: no NetworkPolicy for {tier}")
        for p in allowing:
            for rule in p["spec"].get("ingress", []):
                for peer in rule.get("from", []):
                    if set(peer) != {"podSelector"} or not selects(
                            peer["podSelector"].get("matchLabels"), pod_labels.get("runwatch-web", {})):
                        problem(f"{name}: NetworkPolicy {p['metadata']['name']} lets {peer} reach {tier}: only the web pods may")
                if [x["port"] for x in rule.get("ports", [])] != [port]:
                    problem(f"{name}: NetworkPolicy {p['metadata']['name']} opens {rule.get('ports')}, not {port}")


def main():
    env_path = os.path.join(K8S, "base", "runwatch.env")
    for root, _, files in os.walk(K8S):
        for f in files:
            if f.endswith((".yaml", ".yml")):
                try:
                    strictyaml.load_all(os.path.join(root, f))
                except Exception as e:  # noqa: BLE001
                    problem(f"{rel(os.path.join(root, f))}: {e}")
    check(build(os.path.join(K8S, "base")), "base", env_path)
    overlays = os.path.join(K8S, "overlays")
    for o in sorted(os.listdir(overlays)):
        check(build(os.path.join(overlays, o)), f"overlay {o}", env_path)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
