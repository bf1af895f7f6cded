"""Which use case a Prometheus series belongs to: a small TOML map on its labels.

    [[map]]
    match = {namespace = "chat-prod"}
    use_case = "chat"

    [[map]]
    match = {model_name = "Qwen/Qwen2.5-Coder-1.5B-Instruct"}
    use_case = "code-assistant"

Rules are tried in order; the first whose labels all equal the series' wins. No match: the
series is unmapped (its energy is kept as unallocated, never dropped).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from footprint.errors import InputFileError

# Workload labels under the names exporters give them. DCGM exporter scraped without
# honor_labels gets exported_*; Kepler 0.7 uses container_*/pod_name; Kepler 0.10 pod_*.
WORKLOAD_LABELS = {
    "namespace": ("exported_namespace", "container_namespace", "pod_namespace", "namespace"),
    "pod": ("exported_pod", "pod_name", "pod"),
    "container": ("exported_container", "container_name", "container"),
}
NODE_LABELS = ("Hostname", "node_name", "node", "kubernetes_node", "hostname")


def workload_labels(labels: dict[str, str]) -> dict[str, str]:
    """The labels rules match on: raw labels, with namespace/pod/container/Hostname normalised."""
    out = dict(labels)
    for name, candidates in WORKLOAD_LABELS.items():
        value = next((labels[c] for c in candidates if labels.get(c)), "")
        if value:
            out[name] = value
        else:
            out.pop(name, None)
    node = node_name(labels)
    if node:
        out["Hostname"] = node
    return out


def node_name(labels: dict[str, str]) -> str:
    """The machine a series comes from: its node label, else the host part of `instance`."""
    for name in NODE_LABELS:
        if labels.get(name):
            return labels[name]
    return instance_host(labels)


def instance_host(labels: dict[str, str]) -> str:
    instance = labels.get("instance", "")
    if instance.startswith("["):  # [ipv6]:port
        return instance[1:].split("]", 1)[0]
    return instance.rsplit(":", 1)[0] if instance.count(":") == 1 else instance


@dataclass(frozen=True)
class Rule:
    match: tuple[tuple[str, str], ...]
    use_case: str


@dataclass(frozen=True)
class Mapping:
    rules: tuple[Rule, ...] = ()

    def use_case_for(self, labels: dict[str, str]) -> str | None:
        normalised = workload_labels(labels)
        for rule in self.rules:
            if all(normalised.get(k) == v for k, v in rule.match):
                return rule.use_case
        return None

    @property
    def use_cases(self) -> set[str]:
        return {r.use_case for r in self.rules}


def load_mapping(path: str | Path | None) -> Mapping:
    """Read a TOML map file; no file means no rules (everything unallocated unless tokens say)."""
    if path is None:
        return Mapping()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"{path}: bad TOML: {exc}") from None
    return parse_mapping(data, str(path))


def parse_mapping(data: dict, where: str = "map") -> Mapping:
    unknown = set(data) - {"map"}
    if unknown:
        raise InputFileError(f"{where}: unknown section {sorted(unknown)[0]!r} (expected [[map]] tables)")
    entries = data.get("map", [])
    if not isinstance(entries, list):
        raise InputFileError(f"{where}: 'map' must be an array of tables ([[map]])")
    rules = []
    for n, entry in enumerate(entries, 1):
        place = f"{where}: [[map]] #{n}"
        if not isinstance(entry, dict) or set(entry) - {"match", "use_case"}:
            extra = sorted(set(entry) - {"match", "use_case"}) if isinstance(entry, dict) else ["?"]
            raise InputFileError(f"{place}: unknown field {extra[0]!r} (expected match, use_case)")
        match, use_case = entry.get("match"), entry.get("use_case")
        if not isinstance(use_case, str) or not use_case:
            raise InputFileError(f"{place}: field use_case must be a use-case slug")
        if not isinstance(match, dict) or not match:
            raise InputFileError(f"{place}: field match must be a non-empty table of labels, e.g. {{namespace = \"chat\"}}")
        for key, value in match.items():
            if not isinstance(value, str):
                raise InputFileError(f"{place}: match.{key} must be a string")
        rules.append(Rule(tuple(sorted(match.items())), use_case))
    return Mapping(tuple(rules))
