#!/usr/bin/python3
"""deploy_checks.py — the structural checks of tests/system/deploy.sh.

    deploy_checks.py compose CONFIG.yml              `docker-compose config` output
    deploy_checks.py panels DASHBOARD.json PROMETHEUS.yml JOB=METRICS.txt...
    deploy_checks.py jmx RULES.yml [BROKER-METRICS.txt]
    deploy_checks.py terraform HCL.json STARTUP.sh COMPOSE_CONFIG.yml
    deploy_checks.py workflows CI.yml DEPLOY.yml

Each prints what it checked and exits 0, or prints every problem and exits 1.
Python 3 standard library plus Debian's python3-yaml.
"""
import base64
import json
import re
import sys

import yaml

PROBLEMS = []


def problem(msg):
    PROBLEMS.append(msg)


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


# ---- compose -------------------------------------------------------------------------
BROKERS = ("broker-1", "broker-2", "broker-3")
KAFKA = ("kafka-1", "kafka-2", "kafka-3")
# published port of each UI, as terraform/main.tf's firewall opens them
UI_PORTS = {"grafana": 3000, "prometheus": 9090, "haproxy": 8404}


def published_ports(service):
    out = set()
    for p in service.get("ports") or []:
        if isinstance(p, dict):
            out.add(int(p["published"]))
        else:
            out.add(int(str(p).split(":")[-2] if ":" in str(p) else p))
    return out


def listener_map(value):
    """{"NAME": (host, port)} of a Kafka listeners value "NAME://host:port,..."."""
    out = {}
    for item in str(value or "").split(","):
        name, _, addr = item.partition("://")
        host, _, port = addr.rpartition(":")
        if name and port.isdigit():
            out[name] = (host, int(port))
    return out


def check_kraft_env(services):
    """What Apache Kafka checks at start-up in KRaft combined mode, on the kafka-N
    services' KAFKA_* environment: a cluster id of 16 bytes, the controller listener
    bound but not advertised, voters at each broker's controller port under its alias."""
    for name, alias in zip(KAFKA, BROKERS):
        env = (services.get(name) or {}).get("environment") or {}
        where = "compose: %s" % name
        try:
            raw = base64.urlsafe_b64decode(str(env.get("CLUSTER_ID", "")) + "==")
        except ValueError:
            raw = b""
        if len(raw) != 16 or len(str(env.get("CLUSTER_ID"))) != 22:
            problem("%s: CLUSTER_ID %r is not 16 bytes in base64url" % (where, env.get("CLUSTER_ID")))
        listeners = listener_map(env.get("KAFKA_LISTENERS"))
        advertised = listener_map(env.get("KAFKA_ADVERTISED_LISTENERS"))
        controller = env.get("KAFKA_CONTROLLER_LISTENER_NAMES")
        inter = env.get("KAFKA_INTER_BROKER_LISTENER_NAME")
        if controller not in listeners:
            problem("%s: controller listener %r is not in KAFKA_LISTENERS" % (where, controller))
        if controller in advertised:
            problem("%s: controller listener %r is advertised to clients" % (where, controller))
        if inter not in listeners or inter not in advertised or inter == controller:
            problem("%s: inter-broker listener %r must be bound, advertised, not the controller's"
                    % (where, inter))
        if advertised.get(inter, ("",))[0] != alias:
            problem("%s: advertises %r, not its alias %s" % (where, advertised.get(inter), alias))
        for voter in str(env.get("KAFKA_CONTROLLER_QUORUM_VOTERS", "")).split(","):
            vid, _, addr = voter.partition("@")
            host, _, port = addr.rpartition(":")
            if host not in BROKERS or port != str(listeners.get(controller, ("", 0))[1]):
                problem("%s: voter %r is not broker-N at the controller port" % (where, voter))
            elif host == alias and vid != str(env.get("KAFKA_NODE_ID")):
                problem("%s: voter %r names its host, not its node id %s" %
                        (where, voter, env.get("KAFKA_NODE_ID")))


def check_compose(path):
    doc = load_yaml(path)
    services = doc.get("services") or {}
    for name in BROKERS + KAFKA + ("haproxy", "prometheus", "grafana", "lab"):
        if name not in services:
            problem("compose: no service %s" % name)
    for name in BROKERS:
        s = services.get(name) or {}
        if s.get("profiles") != ["streamlab"]:
            problem("compose: %s is not in profile streamlab: %r" % (name, s.get("profiles")))
        if (s.get("build") or {}).get("target") != "broker":
            problem("compose: %s does not build docker/Dockerfile's broker stage" % name)
    for name, alias in zip(KAFKA, BROKERS):
        s = services.get(name) or {}
        if s.get("profiles") != ["kafka"]:
            problem("compose: %s is not in profile kafka: %r" % (name, s.get("profiles")))
        aliases = ((s.get("networks") or {}).get("lab") or {}).get("aliases") or []
        if alias not in aliases:
            problem("compose: %s does not answer to %s, so the clients cannot reach it" % (name, alias))
        base = ((s.get("build") or {}).get("args") or {}).get("KAFKA_IMAGE", "")
        if not str(base).startswith("apache/kafka:"):
            problem("compose: %s is not built on an apache/kafka image: %r" % (name, base))
    check_kraft_env(services)
    if (services.get("kafka-exporter") or {}).get("profiles") != ["kafka"]:
        problem("compose: no kafka-exporter in profile kafka (Apache Kafka's consumer lag)")
    for name in ("haproxy", "prometheus", "grafana", "lab"):
        if (services.get(name) or {}).get("profiles"):
            problem("compose: %s belongs to a profile; it must run with both brokers" % name)
    for name, port in UI_PORTS.items():
        if port not in published_ports(services.get(name) or {}):
            problem("compose: %s does not publish port %d" % (name, port))
    if (services.get("lab", {}).get("build") or {}).get("target") != "lab":
        problem("compose: lab does not build docker/Dockerfile's lab stage")
    print("compose: %d services, profiles streamlab and kafka, UI ports %s" %
          (len(services), sorted(UI_PORTS.values())))


# ---- dashboard panels versus scrape targets --------------------------------------------
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile",
    "count_values", "group", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "and", "or", "unless", "offset", "inf", "nan"}


def expr_selectors(expr):
    """[(metric name, {label: value} of its = matchers)] of a PromQL expression."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)           # strings
    text = re.sub(r"\[[^\]]*\]", "", text)                      # range durations
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    matchers = {}
    for m in re.finditer(r"([A-Za-z_:][\w:]*)\s*\{", expr):
        body = expr[m.end():expr.index("}", m.end())]
        labels = dict((k, v) for k, op, v in
                      re.findall(r'(\w+)\s*(=~|!=|!~|=)\s*"([^"]*)"', body) if op == "=")
        matchers.setdefault(m.group(1), []).append(labels)
    text = re.sub(r"\{[^}]*\}", " ", text)
    out = []
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, call = m.group(1), m.group(2)
        if call or name.lower() in PROMQL_WORDS:
            continue
        for labels in matchers.get(name, [{}]):
            out.append((name, labels))
    return out


def parse_exposition(path):
    """{metric name: [label dicts of its samples]} of a Prometheus text exposition."""
    series = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("# TYPE ") or line.startswith("# HELP "):
                series.setdefault(line.split()[2], [])
            elif line and not line.startswith("#"):
                m = re.match(r"([A-Za-z_:][\w:]*)(\{(.*)\})?\s", line)
                if m:
                    labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
                    series.setdefault(m.group(1), []).append(labels)
    return series


def check_panels(dashboard_path, prometheus_path, sources):
    with open(dashboard_path) as f:
        dash = json.load(f)
    prom = load_yaml(prometheus_path)
    jobs = {c["job_name"] for c in prom.get("scrape_configs") or []}
    exported = {}  # metric name -> (job, label dicts)
    for src in sources:
        job, _, path = src.partition("=")
        if job not in jobs:
            problem("panels: %s is not a job of %s" % (job, prometheus_path))
        for name, labels in parse_exposition(path).items():
            exported.setdefault(name, (job, []))[1].extend(labels)
    checked = 0
    for panel in dash.get("panels") or []:
        for target in panel.get("targets") or []:
            for name, labels in expr_selectors(target.get("expr", "")):
                checked += 1
                where = "panel %r: %s" % (panel.get("title"), name)
                if name == "up":
                    job = labels.get("job")
                    if job is not None and job not in jobs:
                        problem("%s: job %r is not scraped" % (where, job))
                    continue
                if name not in exported:
                    problem("%s is exported by no scrape target (%s)" %
                            (where, ", ".join(s.partition("=")[0] for s in sources)))
                    continue
                samples = exported[name][1]
                for key, value in labels.items():
                    if samples and not any(s.get(key) == value for s in samples):
                        problem('%s{%s="%s"}: no series has that label' % (where, key, value))
    if checked == 0:
        problem("panels: no metric found in %s" % dashboard_path)
    print("panels: %d panels, %d selectors checked against jobs %s and up" %
          (len(dash.get("panels") or []), checked, "/".join(sorted(jobs))))


# ---- JMX exporter rules: Apache Kafka's MBeans under streamlab's names ---------------------
# MBeans as Kafka's documentation names them (docs/ops.html, "Monitoring"), in the form the
# JMX exporter matches: domain<key=value, ...><>attribute.
KAFKA_MBEANS = {
    "kafka.server<type=ReplicaManager, name=LeaderCount><>Value":
        "kafka_server_replicamanager_leadercount",
    "kafka.server<type=ReplicaManager, name=PartitionCount><>Value":
        "kafka_server_replicamanager_partitioncount",
    "kafka.server<type=ReplicaManager, name=UnderReplicatedPartitions><>Value":
        "kafka_server_replicamanager_underreplicatedpartitions",
    "kafka.server<type=ReplicaManager, name=UnderMinIsrPartitionCount><>Value":
        "kafka_server_replicamanager_underminisrpartitioncount",
    "kafka.server<type=ReplicaManager, name=IsrShrinksPerSec><>Count":
        "kafka_server_replicamanager_isrshrinks_total",
    "kafka.server<type=ReplicaManager, name=IsrExpandsPerSec><>Count":
        "kafka_server_replicamanager_isrexpands_total",
    "kafka.controller<type=KafkaController, name=ActiveControllerCount><>Value":
        "kafka_controller_kafkacontroller_activecontrollercount",
    "kafka.controller<type=KafkaController, name=OfflinePartitionsCount><>Value":
        "kafka_controller_kafkacontroller_offlinepartitionscount",
    "kafka.controller<type=ControllerStats, name=UncleanLeaderElectionsPerSec><>Count":
        "kafka_controller_controllerstats_uncleanleaderelections_total",
    "kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec, topic=topic-1><>Count":
        'kafka_server_brokertopicmetrics_messagesin_total{topic="topic-1"}',
    "kafka.server<type=BrokerTopicMetrics, name=BytesInPerSec, topic=topic-1><>Count":
        'kafka_server_brokertopicmetrics_bytesin_total{topic="topic-1"}',
    "kafka.server<type=BrokerTopicMetrics, name=TotalProduceRequestsPerSec, topic=topic-1><>Count":
        'kafka_server_brokertopicmetrics_totalproducerequests_total{topic="topic-1"}',
    "kafka.server<type=BrokerTopicMetrics, name=BytesOutPerSec, topic=topic-1><>Count":
        'kafka_server_brokertopicmetrics_bytesout_total{topic="topic-1"}',
    "kafka.server<type=BrokerTopicMetrics, name=FailedFetchRequestsPerSec><>Count":
        "kafka_server_brokertopicmetrics_failedfetchrequests_total",
    "kafka.log<type=Log, name=Size, topic=topic-1, partition=0><>Value":
        'kafka_log_log_size{partition="0",topic="topic-1"}',
}


def jmx_apply(rules, lowercase, bean):
    """The sample name (with labels) the JMX exporter makes of BEAN: the first rule that
    matches the whole string wins; $N are the pattern's groups (Java's syntax)."""
    for rule in rules:
        m = re.fullmatch(rule["pattern"], bean)
        if not m:
            continue
        sub = lambda s: re.sub(r"\$(\d+)", lambda g: m.group(int(g.group(1))), str(s))
        name = sub(rule["name"])
        name = name.lower() if lowercase else name
        labels = sorted((k, sub(v)) for k, v in (rule.get("labels") or {}).items())
        body = ",".join('%s="%s"' % kv for kv in labels)
        return name + ("{%s}" % body if body else "")
    return None


def check_jmx(rules_path, *sources):
    cfg = load_yaml(rules_path)
    rules = cfg.get("rules") or []
    made = set()
    for bean, want in KAFKA_MBEANS.items():
        got = jmx_apply(rules, cfg.get("lowercaseOutputName"), bean)
        made.add((got or "").split("{")[0])
        if got != want:
            problem("jmx: %s becomes %s, not %s" % (bean, got, want))
    # Every name streamlab-broker exports under kafka_server_/kafka_controller_/kafka_log_
    # (the families the JMX exporter covers) is one the rules make.
    for path in sources:
        for name in parse_exposition(path):
            if re.match(r"kafka_(server|controller|log)_", name) and name not in made:
                problem("jmx: streamlab-broker exports %s; no MBean rule makes it" % name)
    print("jmx: %d rules map %d Kafka MBeans to streamlab's names" % (len(rules), len(KAFKA_MBEANS)))


# ---- terraform -------------------------------------------------------------------------
def blocks(tf, kind):
    """{name: body} of every `kind "name" {}` block over all files (variable, output)."""
    out = {}
    for doc in tf.values():
        for name, bodies in (doc.get(kind) or {}).items():
            out[name] = bodies[0]
    return out


def resources(tf, rtype):
    out = {}
    for doc in tf.values():
        for name, bodies in ((doc.get("resource") or {}).get(rtype) or {}).items():
            out[name] = bodies[0]
    return out


def check_terraform(hcl_path, startup_path, compose_path):
    with open(hcl_path) as f:
        tf = json.load(f)
    if "0.0.0.0/0" in json.dumps(tf):
        problem("terraform: 0.0.0.0/0 appears in terraform/*.tf")
    backends = [t.get("backend") for doc in tf.values() for t in doc.get("terraform") or []]
    if not any(b and "gcs" in b for b in backends):
        problem('terraform: no backend "gcs" (remote state in a GCS bucket)')
    for rtype in ("google_compute_network", "google_compute_subnetwork",
                  "google_compute_firewall", "google_compute_instance"):
        if not resources(tf, rtype):
            problem("terraform: no %s resource" % rtype)
    for name, vm in resources(tf, "google_compute_instance").items():
        image = vm["boot_disk"][0]["initialize_params"][0].get("image", "")
        if "debian-12" not in image:
            problem("terraform: instance %s boots %r, not Debian 12" % (name, image))
        if "startup.sh.tftpl" not in str(vm.get("metadata_startup_script", "")):
            problem("terraform: instance %s has no startup script from startup.sh.tftpl" % name)
    ui_open = set()
    for name, fw in resources(tf, "google_compute_firewall").items():
        ranges = fw.get("source_ranges") or []
        ports = {int(p) for a in fw.get("allow") or [] for p in a.get("ports") or []}
        if ranges == ["${var.allowed_cidr}"]:
            ui_open |= ports
        elif ports & set(UI_PORTS.values()):
            problem("terraform: firewall %s opens UI ports %s to %s" % (name, sorted(ports), ranges))
    compose = load_yaml(compose_path)["services"]
    for svc, port in UI_PORTS.items():
        if port not in ui_open:
            problem("terraform: port %d (%s) is not opened to var.allowed_cidr" % (port, svc))
        if port not in published_ports(compose.get(svc) or {}):
            problem("terraform: opens %d for %s, which compose does not publish" % (port, svc))
    variables = blocks(tf, "variable")
    for name, body in variables.items():
        if not body.get("description"):
            problem("terraform: variable %s has no description" % name)
        if not body.get("validation"):
            problem("terraform: variable %s has no validation block" % name)
    for name in ("project", "region", "zone", "machine_type", "allowed_cidr",
                 "repository_url", "repository_ref"):
        if name not in variables:
            problem("terraform: no variable %s" % name)
    if "default" in variables.get("allowed_cidr", {}):
        problem("terraform: allowed_cidr has a default; it must be given")
    outputs = blocks(tf, "output")
    for name in ("grafana_url", "prometheus_url", "haproxy_stats_url"):
        if name not in outputs or not outputs[name].get("description"):
            problem("terraform: no output %s with a description" % name)
    with open(startup_path) as f:
        startup = f.read()
    for needle in ("apt-get install", "docker.io", "git clone", "docker-compose build",
                   "docker-compose up", "${repository_url}", "${repository_ref}"):
        if needle not in startup:
            problem("terraform: startup.sh.tftpl lacks %r" % needle)
    print("terraform: %d files, %d resources, %d variables, %d outputs, gcs backend" %
          (len(tf), sum(len(d.get("resource") or {}) for d in tf.values()),
           len(variables), len(outputs)))


# ---- workflows -------------------------------------------------------------------------
def steps_of(doc):
    return [s for job in (doc.get("jobs") or {}).values() for s in job.get("steps") or []]


def on_of(doc):
    # YAML 1.1 reads the key `on` as the boolean True
    return doc.get("on", doc.get(True)) or {}


def check_workflows(ci_path, deploy_path):
    ci = load_yaml(ci_path)
    jobs = ci.get("jobs") or {}
    if not any(str((j.get("container") or {}).get("image", j.get("container"))) == "debian:12"
               for j in jobs.values()):
        problem("ci: no job runs in a debian:12 container")
    if not any("make" in str(s.get("run", "")) and "test" in str(s.get("run", ""))
               for s in steps_of(ci)):
        problem("ci: no step runs make test")
    for s in steps_of(ci):
        if not s.get("name"):
            problem("ci: a step has no name: %r" % s)
    dep = load_yaml(deploy_path)
    inputs = (on_of(dep).get("workflow_dispatch") or {}).get("inputs") or {}
    for name in ("project", "region", "zone", "machine_type", "allowed_cidr",
                 "state_bucket", "repository_ref", "action"):
        if name not in inputs:
            problem("deploy: workflow_dispatch has no input %s" % name)
    if set((inputs.get("action") or {}).get("options") or []) != {"apply", "destroy"}:
        problem("deploy: input action does not offer exactly apply and destroy")
    uses = [str(s.get("uses", "")) for s in steps_of(dep)]
    for action in ("hashicorp/setup-terraform@", "google-github-actions/auth@",
                   "actions/checkout@"):
        if not any(u.startswith(action) for u in uses):
            problem("deploy: no step uses %s" % action)
    runs = " ".join(str(s.get("run", "")) for s in steps_of(dep))
    for cmd in ("terraform init", "terraform apply", "terraform destroy", "-backend-config"):
        if cmd not in runs:
            problem("deploy: no step runs %r" % cmd)
    for s in steps_of(dep):
        if not s.get("name"):
            problem("deploy: a step has no name: %r" % s)
        if "${{ inputs." in str(s.get("run", "")):
            problem("deploy: step %r puts an input into a script (pass it through env)" % s.get("name"))
    print("workflows: ci %d steps, deploy %d inputs and %d steps (%s)" %
          (len(steps_of(ci)), len(inputs), len(steps_of(dep)),
           ", ".join(s.get("name", "?") for s in steps_of(dep))))


def main(argv):
    commands = {"compose": check_compose, "panels": check_panels, "jmx": check_jmx,
                "terraform": check_terraform, "workflows": check_workflows}
    if len(argv) < 2 or argv[1] not in commands:
        sys.exit(__doc__)
    try:
        if argv[1] == "panels":
            check_panels(argv[2], argv[3], argv[4:])
        else:
            commands[argv[1]](*argv[2:])
    except (OSError, ValueError, KeyError, IndexError, TypeError, yaml.YAMLError) as e:
        problem("%s: %s: %s" % (argv[1], type(e).__name__, e))
    for p in PROBLEMS:
        print("  " + p)
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
